#pragma once
// Electrode potentials by the infinite-medium pseudo-ECG in its exact discrete
// fast form. With G the gradient over tissue edges, the pseudo-ECG sum over
// edges equals -Vm^T (G^T G) z_e / (4 pi) (z_e = 1/r to electrode e), so each node gets
// a weight w_e[n] per electrode (summing to zero over nodes), and because every node's
// voltage is U(t - tau_n) - R(t - rho_n), each electrode signal is two weighted
// histograms of tau and rho convolved with U and R.

#include <array>
#include <cstdint>
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
  // For every beat k, add(&weights[n * 9], origin_ms[k] + tau[n] + apd[n] *
  // scale[k]) for every node with a finite tau; returns, per beat, the largest
  // tau[n] + apd[n] * scale[k]. One pass over the nodes serves all beats, so
  // each node's weights are read once; a bin that only one beat reaches
  // receives that beat's nodes in node order, as with one call per beat.
  std::vector<double> add_repolarisation(const std::vector<double>& weights,
                                         const std::vector<double>& tau,
                                         const std::vector<double>& apd,
                                         const std::vector<double>& scale,
                                         const std::vector<double>& origin_ms);
  // Adds `lo` to bin j and `hi` to bin j + 1 (9 electrodes each), as add()
  // does for one event; ignored unless 0 <= j < n_bins - 1.
  void add_split(long j, const double* lo, const double* hi);
  double origin_ms() const { return origin_ms_; }
  double step_ms() const { return step_ms_; }
  // sum_j H[j] shape((k - j) step) for every bin k: layout bin * 9 + e.
  std::vector<double> convolve(const Shape& shape) const;

 private:
  std::size_t n_bins_;
  double origin_ms_;
  double step_ms_;
  std::vector<double> bins_;
};

// The events of one activation map (a weight and a time per node), arranged
// so that adding the whole map to a histogram at another origin costs
// O(bins), not O(nodes). Nodes are grouped by the bin of their time and sorted
// by its fractional part within the group; sums of w and of w times the
// fraction over the first k nodes of a group then give each bin's share for
// any origin exactly: a beat repeats the same upstroke times, only shifted.
// Those sums are stored every kStride nodes and completed from the weights.
// Nodes at +inf are left out.
class ShiftedEvents {
 public:
  // Only the address of `weights` (9 per node) is kept: they must outlive
  // this object.
  ShiftedEvents(const std::vector<double>& weights, const std::vector<double>& times_ms,
                double step_ms);
  // The same as hist.add(&weights[n * 9], origin_ms + times_ms[n]) for every
  // node, up to rounding.
  void add_to(EventHistogram& hist, double origin_ms) const;

 private:
  static constexpr std::size_t kStride = 8;
  struct Group {
    long bin;                 // floor(time / step)
    std::size_t first;        // index of the group's first node in fraction_
    std::size_t size;
    std::size_t checkpoint;   // index of its first stored sum
  };
  // Sums of w and of fraction * w over a group's first `count` nodes.
  void partial_sums(const Group& group, std::size_t count, double* w,
                    double* fw) const;

  const double* weights_;
  double step_ms_;
  std::vector<Group> groups_;
  std::vector<double> fraction_;    // time / step - bin, ascending within a group
  std::vector<std::uint32_t> node_;  // the node of each entry of fraction_
  // Per group, the sums over its first 0, kStride, 2 kStride, ... nodes, 9
  // values each.
  std::vector<double> sum_w_;
  std::vector<double> sum_fw_;
};

// The 12 standard leads (I, II, III, aVR, aVL, aVF, V1..V6) from the 9 electrode
// potentials (RA, LA, LL, V1..V6) with Wilson's central terminal.
std::array<double, 12> standard_leads(const double* electrodes);

}  // namespace cardiofair
