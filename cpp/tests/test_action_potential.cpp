// Mitchell-Schaeffer calibration and the shapes built from it.
#include <cmath>
#include <cstdio>

#include "cardiofair/action_potential.hpp"
#include "cardiofair/testing.hpp"

using namespace cardiofair;

int main() {
  // The simulated APD90 (~285 ms) is longer than the closed-form estimate
  // tau_close * ln(1 / h_min) (241 ms): the shapes use the simulated value.
  const MitchellSchaeffer cell;
  const double apd = mitchell_schaeffer_apd90_ms(cell);
  const double closed_form =
      cell.tau_close_ms * std::log(1.0 / (4.0 * cell.tau_in_ms / cell.tau_out_ms));
  std::printf("APD90 simulated %.1f ms, closed form %.1f ms\n", apd, closed_form);
  CF_CHECK(apd > 270.0 && apd < 300.0);
  CF_CHECK(apd > closed_form + 20.0);

  MitchellSchaeffer slower = cell;
  slower.tau_close_ms = 180.0;
  CF_CHECK(mitchell_schaeffer_apd90_ms(slower) > apd + 20.0);

  const ApShapes shapes = make_ap_shapes(1.0, 0.0, kVentricularPlateauLeadMs);
  CF_CHECK_NEAR(shapes.template_apd90_ms, apd, 1e-9);
  CF_CHECK_NEAR(shapes.upstroke.at(0.0), 0.5, 0.02);
  CF_CHECK_NEAR(shapes.upstroke.at(20.0), 1.0, 1e-12);
  CF_CHECK_NEAR(shapes.upstroke.at(-10.0), 0.0, 1e-12);
  CF_CHECK_NEAR(shapes.repolarisation.at(0.0), 0.9, 0.01);
  CF_CHECK_NEAR(shapes.repolarisation.at(-kVentricularPlateauLeadMs - 1.0), 0.0, 1e-12);
  CF_CHECK_NEAR(shapes.repolarisation.at(500.0), 1.0, 1e-3);

  // Smoothing keeps the shape monotone and its 90 % point close.
  const ApShapes smooth = make_ap_shapes(1.0, 10.0, kVentricularPlateauLeadMs);
  bool monotone = true;
  for (std::size_t i = 1; i < smooth.repolarisation.values.size(); ++i) {
    monotone = monotone && smooth.repolarisation.values[i] >=
                               smooth.repolarisation.values[i - 1] - 1e-12;
  }
  CF_CHECK(monotone);
  CF_CHECK_NEAR(smooth.repolarisation.at(0.0), 0.9, 0.06);
  return cardiofair::testing::report("test_action_potential");
}
