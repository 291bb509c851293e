#pragma once

#include <string>

namespace cardiofair {

// The engine's version, recorded in the provenance of every simulation run.
std::string engine_version();

}  // namespace cardiofair
