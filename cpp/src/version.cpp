#include "cardiofair/version.hpp"

namespace cardiofair {

std::string engine_version() { return CARDIOFAIR_VERSION; }

}  // namespace cardiofair
