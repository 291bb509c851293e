#pragma once
// Electrode potentials by the infinite-medium pseudo-ECG in its exact discrete
// fast form. With G the gradient over tissue edges, the pseudo-ECG sum over
// edges equals -Vm^T (G^T G) z_e / (4 pi) (z_e = 1/r to electrode e), so each node gets
// a weight w_e[n] per electrode (summing to zero over nodes), and because every node's
// voltage is U(t - tau_n) - R(t - rho_n), each electrode signal is two weighted
// histograms of tau and rho convolved with U and R.

#include <array>
#include <vector>

#include "cardiofair/action_potential.hpp"
#include "cardiofair/geometry.hpp"

namespace cardiofair {

// Weights w[node * 9 + e] in mV per unit of normalised voltage:
// -gain_e / (4 pi) * h * sum over tissue neighbours m of (z_e[n] - z_e[m]),
// with positions mapped to the body by the pose; the conductivity ratio
// sigma_i / sigma_b is folded into gain_e.
std::vector<double> electrode_weights(const TissueGrid& grid, const HeartPose& pose,
                                      const std::array<Vec3, kElectrodeCount>& sites,
                                      const std::array<double, kElectrodeCount>& gains);

// Direct evaluation of the same discrete sum over edges for given voltages:
// -gain_e / (4 pi) * h * sum over edges (V_b - V_a)(z_b - z_a). For tests.
std::array<double, kElectrodeCount> pseudo_ecg_direct(
    const TissueGrid& grid, const HeartPose& pose,
    const std::array<Vec3, kElectrodeCount>& sites,
    const std::array<double, kElectrodeCount>& gains, const std::vector<double>& vm);

// Weighted histograms of event times on the output sampling grid, 9 electrodes
// per bin; each time's weight is split linearly between its two nearest bins.
class EventHistogram {
 public:
  EventHistogram(std::size_t n_bins, double origin_ms, double step_ms);
  void add(const double* weights, double time_ms);
  // sum_j H[j] shape((k - j) step) for every bin k: layout bin * 9 + e.
  std::vector<double> convolve(const Shape& shape) const;

 private:
  std::size_t n_bins_;
  double origin_ms_;
  double step_ms_;
  std::vector<double> bins_;
};

// The 12 standard leads (I, II, III, aVR, aVL, aVF, V1..V6) from the 9 electrode
// potentials (RA, LA, LL, V1..V6) with Wilson's central terminal.
std::array<double, 12> standard_leads(const double* electrodes);

}  // namespace cardiofair
