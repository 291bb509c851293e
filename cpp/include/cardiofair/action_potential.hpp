#pragma once
// Action-potential shapes. A Mitchell-Schaeffer cell is integrated once; its
// upstroke and its repolarisation become two shapes U and R so that every node's
// normalised transmembrane voltage is U(t - tau) - R(t - rho), with tau the
// activation time (50 % upstroke) and rho = tau + APD90 the time of 90 %
// repolarisation.

#include <vector>

namespace cardiofair {

struct MitchellSchaeffer {
  double tau_in_ms = 0.3;
  double tau_out_ms = 6.0;
  double tau_open_ms = 120.0;
  double tau_close_ms = 150.0;
  double v_gate = 0.13;
};

// Forward-Euler integration from rest with a 0.5 ms stimulus at t = 0;
// returns v (0 rest .. ~1 peak) every dt_ms for duration_ms.
std::vector<double> integrate_mitchell_schaeffer(const MitchellSchaeffer& cell,
                                                 double dt_ms, double duration_ms);

// APD90 measured on the integrated trace (not the closed-form estimate).
double mitchell_schaeffer_apd90_ms(const MitchellSchaeffer& cell);

// A shape sampled every dt_ms from t0_ms; 0 before t0, its last value after.
struct Shape {
  double t0_ms = 0.0;
  double dt_ms = 1.0;
  std::vector<double> values;
  double at(double t_ms) const;  // linear interpolation
};

struct ApShapes {
  Shape upstroke;        // U: 0 -> 1, 0.5 at t = 0
  Shape repolarisation;  // R: 0 -> 1, 0.9 at t = 0 before smoothing
  double template_apd90_ms = 0.0;
};

// Shapes sampled at the output step (t0 a whole number of steps). The
// repolarisation shape starts plateau_lead_ms before its 90 % point (every APD
// using it must be longer) and is smoothed by a Gaussian of width smoothing_ms.
ApShapes make_ap_shapes(double sample_ms, double smoothing_ms, double plateau_lead_ms);

// Plateau leads of the ventricular and atrial repolarisation shapes.
constexpr double kVentricularPlateauLeadMs = 150.0;
constexpr double kAtrialPlateauLeadMs = 40.0;

// Atrial repolarisation is dispersed over the atria (APD varies from region to
// region and the atrial action potential has no flat plateau), so the atrial
// repolarisation (Ta) wave is shallow and lasts two to three times as long as
// the P wave. The atrial repolarisation shape is smoothed by a Gaussian at least
// this wide (ms); a narrower one gives a Ta wave as sharp as the P wave, which
// appears as a notch in the PR segment of long-PR beats.
constexpr double kAtrialRepolarisationSpreadMs = 25.0;

}  // namespace cardiofair
