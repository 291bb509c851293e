#include <string>

#include "cardiofair/testing.hpp"
#include "cardiofair/version.hpp"

int main() {
  const std::string version = cardiofair::engine_version();
  CF_CHECK(!version.empty());
  CF_CHECK(version.find('.') != std::string::npos);
  return cardiofair::testing::report("test_version");
}
