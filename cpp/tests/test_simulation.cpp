// Parameter validation, the default resolution and thread-count invariance.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "cardiofair/simulation.hpp"
#include "cardiofair/testing.hpp"

using namespace cardiofair;

namespace {

std::string error_of(const std::map<std::string, double>& overrides) {
  try {
    (void)parameters_from(overrides);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

int main() {
  CF_CHECK(error_of({{"cv_fibre_m_per_s", 12.0}}) ==
           "cv_fibre_m_per_s must be in [0.2, 1.2], got 12");
  CF_CHECK(error_of({{"no_such_thing", 1.0}}) == "unknown parameter 'no_such_thing'");
  CF_CHECK(error_of({{"lbbb", 0.5}}) == "lbbb must be a whole number, got 0.5");
  CF_CHECK(error_of({{"lv_wall_mm", 12.0}}).empty());

  // The default resolution gives at least 100,000 ventricular nodes.
  const PatientParameters defaults;
  const VentricularAnatomy v = build_ventricles(defaults);
  std::printf("default ventricular nodes: %zu\n", v.grid.size());
  CF_CHECK(v.grid.size() >= 100000);

  // The same seeds give bit-identical records on 1 and 2 threads.
  const PatientParameters coarse = parameters_from({{"grid_spacing_mm", 2.5}});
  const PatientParameters fast =
      parameters_from({{"grid_spacing_mm", 2.5}, {"heart_rate_bpm", 90.0}});
  const std::vector<PatientParameters> patients = {coarse, fast, coarse};
  const std::vector<std::uint64_t> seeds = {1, 2, 3};
  const auto one = simulate_batch(patients, seeds, 3.0, 500.0, 1);
  const auto two = simulate_batch(patients, seeds, 3.0, 500.0, 2);
  for (std::size_t i = 0; i < patients.size(); ++i) {
    CF_CHECK(one[i].signals == two[i].signals);
    CF_CHECK(one[i].fiducials == two[i].fiducials);
  }
  CF_CHECK(one[0].signals != one[2].signals);  // seeds differ, jitter differs

  bool rejected = false;
  try {
    (void)simulate_batch(patients, {1, 2}, 3.0, 500.0, 2);
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  CF_CHECK(rejected);

  // The memory guard refuses a grid too large for the memory it is given and
  // accepts one that fits, without allocating either.
  bool refused = false;
  try {
    check_grid_memory(1000000000, 1e9);  // 160 GB needed, 1 GB available
  } catch (const InsufficientMemory& e) {
    refused = std::string(e.what()).find("increase grid_spacing_mm") !=
              std::string::npos;
  }
  CF_CHECK(refused);
  check_grid_memory(1000, 1e9);
  check_grid_memory(1000000000, 0.0);  // unknown memory: no refusal
  return cardiofair::testing::report("test_simulation");
}
