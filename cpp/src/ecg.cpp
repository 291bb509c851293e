#include "cardiofair/ecg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace cardiofair {

namespace {

// The impressed current is -sigma_i grad Vm, hence the minus sign: a
// depolarisation front moving towards an electrode raises its potential.
constexpr double kSourceScale = -0.07957747154594767;  // -1 / (4 pi)

std::vector<double> inverse_distances(const TissueGrid& grid, const HeartPose& pose,
                                      const std::array<Vec3, kElectrodeCount>& sites) {
  std::vector<double> z(grid.size() * kElectrodeCount);
  for (std::size_t n = 0; n < grid.size(); ++n) {
    const Vec3 p = pose.to_body(grid.position[n]);
    for (std::size_t e = 0; e < kElectrodeCount; ++e) {
      const Vec3 d = p - sites[e];
      z[n * kElectrodeCount + e] = 1.0 / std::sqrt(dot(d, d));
    }
  }
  return z;
}

}  // namespace

std::vector<double> electrode_weights(
    const TissueGrid& grid, const HeartPose& pose,
    const std::array<Vec3, kElectrodeCount>& sites,
    const std::array<double, kElectrodeCount>& gains) {
  const std::vector<double> z = inverse_distances(grid, pose, sites);
  std::vector<double> w(z.size(), 0.0);
  for (std::size_t n = 0; n < grid.size(); ++n) {
    const int* nb = &grid.neighbours[n * 6];
    for (int d = 0; d < 6; ++d) {
      if (nb[d] < 0) continue;
      const auto m = static_cast<std::size_t>(nb[d]);
      for (std::size_t e = 0; e < kElectrodeCount; ++e) {
        w[n * kElectrodeCount + e] +=
            z[n * kElectrodeCount + e] - z[m * kElectrodeCount + e];
      }
    }
  }
  for (std::size_t n = 0; n < grid.size(); ++n) {
    for (std::size_t e = 0; e < kElectrodeCount; ++e) {
      w[n * kElectrodeCount + e] *= gains[e] * kSourceScale * grid.spacing_mm;
    }
  }
  return w;
}

std::array<double, kElectrodeCount> pseudo_ecg_direct(
    const TissueGrid& grid, const HeartPose& pose,
    const std::array<Vec3, kElectrodeCount>& sites,
    const std::array<double, kElectrodeCount>& gains, const std::vector<double>& vm) {
  if (vm.size() != grid.size()) {
    throw std::invalid_argument("vm must have one value per node");
  }
  const std::vector<double> z = inverse_distances(grid, pose, sites);
  std::array<double, kElectrodeCount> phi{};
  for (std::size_t n = 0; n < grid.size(); ++n) {
    // Each edge once: towards the +x, +y and +z neighbours.
    for (int d = 1; d < 6; d += 2) {
      const int other = grid.neighbours[n * 6 + static_cast<std::size_t>(d)];
      if (other < 0) continue;
      const auto m = static_cast<std::size_t>(other);
      for (std::size_t e = 0; e < kElectrodeCount; ++e) {
        phi[e] +=
            (vm[m] - vm[n]) * (z[m * kElectrodeCount + e] - z[n * kElectrodeCount + e]);
      }
    }
  }
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    phi[e] *= gains[e] * kSourceScale * grid.spacing_mm;
  }
  return phi;
}

EventHistogram::EventHistogram(std::size_t n_bins, double origin_ms, double step_ms)
    : n_bins_(n_bins),
      origin_ms_(origin_ms),
      step_ms_(step_ms),
      bins_(n_bins * kElectrodeCount, 0.0) {}

void EventHistogram::add(const double* weights, double time_ms) {
  const double x = (time_ms - origin_ms_) / step_ms_;
  if (!(x >= 0.0) || x >= static_cast<double>(n_bins_ - 1)) return;
  const auto j = static_cast<std::size_t>(x);
  const double f = x - static_cast<double>(j);
  // The weights never alias the bins; saying so lets the loop vectorise.
  double* __restrict lo = &bins_[j * kElectrodeCount];
  double* __restrict hi = lo + kElectrodeCount;
  const double* __restrict w = weights;
  const double g = 1.0 - f;
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    lo[e] += g * w[e];
    hi[e] += f * w[e];
  }
}

std::vector<double> EventHistogram::add_repolarisation(
    const std::vector<double>& weights, const std::vector<double>& tau,
    const std::vector<double>& apd, const std::vector<double>& scale,
    const std::vector<double>& origin_ms) {
  if (scale.size() != origin_ms.size()) {
    throw std::invalid_argument("scale and origin_ms must have one value per beat");
  }
  const std::size_t n_beats = scale.size();
  std::vector<double> last(n_beats, -std::numeric_limits<double>::infinity());
  const double limit = static_cast<double>(n_bins_ - 1);
  for (std::size_t n = 0; n < tau.size(); ++n) {
    if (!std::isfinite(tau[n])) continue;
    // The node's weights, held in registers across its beats.
    double w[kElectrodeCount];
    std::copy_n(&weights[n * kElectrodeCount], kElectrodeCount, w);
    for (std::size_t k = 0; k < n_beats; ++k) {
      const double time = tau[n] + apd[n] * scale[k];
      last[k] = std::max(last[k], time);
      const double x =
          (origin_ms[k] + tau[n] + apd[n] * scale[k] - origin_ms_) / step_ms_;
      if (!(x >= 0.0) || x >= limit) continue;
      const auto j = static_cast<std::size_t>(x);
      const double f = x - static_cast<double>(j);
      const double g = 1.0 - f;
      double* __restrict lo = &bins_[j * kElectrodeCount];
      double* __restrict hi = lo + kElectrodeCount;
      for (std::size_t e = 0; e < kElectrodeCount; ++e) {
        lo[e] += g * w[e];
        hi[e] += f * w[e];
      }
    }
  }
  return last;
}

void EventHistogram::add_split(long j, const double* lo, const double* hi) {
  if (j < 0 || j >= static_cast<long>(n_bins_) - 1) return;
  double* __restrict bin = &bins_[static_cast<std::size_t>(j) * kElectrodeCount];
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    bin[e] += lo[e];
    bin[kElectrodeCount + e] += hi[e];
  }
}

ShiftedEvents::ShiftedEvents(const std::vector<double>& weights,
                             const std::vector<double>& times_ms, double step_ms)
    : weights_(weights.data()), step_ms_(step_ms) {
  if (weights.size() != times_ms.size() * kElectrodeCount) {
    throw std::invalid_argument("weights must hold 9 values per event time");
  }
  constexpr std::size_t kPrefetchAhead = 8;
  struct Event {
    long bin;
    double fraction;
    std::uint32_t node;
  };
  std::vector<Event> events;
  events.reserve(times_ms.size());
  long lowest = 0;
  long highest = 0;
  for (std::size_t n = 0; n < times_ms.size(); ++n) {
    if (!std::isfinite(times_ms[n])) continue;
    const double x = times_ms[n] / step_ms;
    const double bin = std::floor(x);
    const auto b = static_cast<long>(bin);
    lowest = events.empty() ? b : std::min(lowest, b);
    highest = events.empty() ? b : std::max(highest, b);
    events.push_back({b, x - bin, static_cast<std::uint32_t>(n)});
  }
  if (events.empty()) return;

  // Counting sort by bin (a few hundred bins), then each bin by fraction.
  std::vector<std::size_t> start(static_cast<std::size_t>(highest - lowest) + 2, 0);
  for (const Event& e : events) ++start[static_cast<std::size_t>(e.bin - lowest) + 1];
  for (std::size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  std::vector<Event> sorted(events.size());
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  for (const Event& e : events) sorted[next[static_cast<std::size_t>(e.bin - lowest)]++] = e;

  fraction_.reserve(sorted.size());
  node_.reserve(sorted.size());
  for (std::size_t b = 0; b + 1 < start.size(); ++b) {
    if (start[b] == start[b + 1]) continue;
    const auto first = sorted.begin() + static_cast<long>(start[b]);
    const auto last = sorted.begin() + static_cast<long>(start[b + 1]);
    std::sort(first, last,
              [](const Event& x, const Event& y) { return x.fraction < y.fraction; });
    const std::size_t size = start[b + 1] - start[b];
    const std::size_t checkpoint = sum_w_.size() / kElectrodeCount;
    groups_.push_back({lowest + static_cast<long>(b), fraction_.size(), size, checkpoint});
    double w_acc[kElectrodeCount] = {};
    double fw_acc[kElectrodeCount] = {};
    for (std::size_t k = 0; k <= size; ++k) {
      if (k % kStride == 0) {
        sum_w_.insert(sum_w_.end(), w_acc, w_acc + kElectrodeCount);
        sum_fw_.insert(sum_fw_.end(), fw_acc, fw_acc + kElectrodeCount);
      }
      if (k == size) break;
      if (k + kPrefetchAhead < size) {
        // Nodes in time order are scattered through the weights: fetch ahead.
        const double* ahead = &weights[static_cast<std::size_t>(
                                           first[static_cast<long>(k + kPrefetchAhead)].node) *
                                       kElectrodeCount];
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + kElectrodeCount - 1);
      }
      const Event& e = first[static_cast<long>(k)];
      fraction_.push_back(e.fraction);
      node_.push_back(e.node);
      const double* w = &weights[static_cast<std::size_t>(e.node) * kElectrodeCount];
      for (std::size_t i = 0; i < kElectrodeCount; ++i) {
        w_acc[i] += w[i];
        fw_acc[i] += e.fraction * w[i];
      }
    }
  }
}

void ShiftedEvents::partial_sums(const Group& group, std::size_t count, double* w,
                                 double* fw) const {
  const std::size_t stored = count / kStride;
  const std::size_t at = (group.checkpoint + stored) * kElectrodeCount;
  for (std::size_t i = 0; i < kElectrodeCount; ++i) {
    w[i] = sum_w_[at + i];
    fw[i] = sum_fw_[at + i];
  }
  for (std::size_t k = stored * kStride; k < count; ++k) {
    const double f = fraction_[group.first + k];
    const double* wn = weights_ + static_cast<std::size_t>(node_[group.first + k]) *
                                      kElectrodeCount;
    for (std::size_t i = 0; i < kElectrodeCount; ++i) {
      w[i] += wn[i];
      fw[i] += f * wn[i];
    }
  }
}

void ShiftedEvents::add_to(EventHistogram& hist, double origin_ms) const {
  // A node at time t lands at x = u + t / step with u = (origin - h0) / step.
  // With u = U + phi and t / step = bin + f: nodes with f < 1 - phi split
  // between bins U + bin and U + bin + 1 with fraction phi + f, the others
  // between U + bin + 1 and U + bin + 2 with fraction phi + f - 1.
  const double u = (origin_ms - hist.origin_ms()) / step_ms_;
  if (!std::isfinite(u)) return;
  const double whole = std::floor(u);
  const double phi = u - whole;
  const long shift = static_cast<long>(whole);
  double w_a[kElectrodeCount], fw_a[kElectrodeCount];
  double w_all[kElectrodeCount], fw_all[kElectrodeCount];
  double lo[kElectrodeCount], hi[kElectrodeCount];
  for (const Group& group : groups_) {
    const double* f_begin = &fraction_[group.first];
    const auto split = static_cast<std::size_t>(
        std::lower_bound(f_begin, f_begin + group.size, 1.0 - phi) - f_begin);
    partial_sums(group, split, w_a, fw_a);
    const long j = shift + group.bin;
    if (split > 0) {  // f < 1 - phi
      for (std::size_t e = 0; e < kElectrodeCount; ++e) {
        lo[e] = (1.0 - phi) * w_a[e] - fw_a[e];
        hi[e] = phi * w_a[e] + fw_a[e];
      }
      hist.add_split(j, lo, hi);
    }
    if (split < group.size) {  // f >= 1 - phi
      partial_sums(group, group.size, w_all, fw_all);
      for (std::size_t e = 0; e < kElectrodeCount; ++e) {
        const double w = w_all[e] - w_a[e];
        const double fw = fw_all[e] - fw_a[e];
        lo[e] = (2.0 - phi) * w - fw;
        hi[e] = (phi - 1.0) * w + fw;
      }
      hist.add_split(j + 1, lo, hi);
    }
  }
}

std::vector<double> EventHistogram::convolve(const Shape& shape) const {
  // Convolve with the shape's increments, then integrate: the shape holds its
  // last value forever, which a finite kernel could not express.
  const auto m0 = static_cast<long>(std::lround(-shape.t0_ms / shape.dt_ms));
  const auto n = static_cast<long>(n_bins_);
  std::vector<double> increments(shape.values.size());
  for (std::size_t m = 0; m < shape.values.size(); ++m) {
    increments[m] = shape.values[m] - (m == 0 ? 0.0 : shape.values[m - 1]);
  }
  std::vector<double> out(bins_.size(), 0.0);
  for (long j = 0; j < n; ++j) {
    const double* h = &bins_[static_cast<std::size_t>(j) * kElectrodeCount];
    bool empty = true;
    for (std::size_t e = 0; e < kElectrodeCount; ++e) empty = empty && h[e] == 0.0;
    if (empty) continue;
    for (std::size_t m = 0; m < increments.size(); ++m) {
      long k = j - m0 + static_cast<long>(m);
      if (k >= n) break;
      if (k < 0) k = 0;
      double* o = &out[static_cast<std::size_t>(k) * kElectrodeCount];
      const double c = increments[m];
      for (std::size_t e = 0; e < kElectrodeCount; ++e) o[e] += c * h[e];
    }
  }
  for (long k = 1; k < n; ++k) {
    double* o = &out[static_cast<std::size_t>(k) * kElectrodeCount];
    const double* prev = o - kElectrodeCount;
    for (std::size_t e = 0; e < kElectrodeCount; ++e) o[e] += prev[e];
  }
  return out;
}

std::array<double, 12> standard_leads(const double* phi) {
  const double ra = phi[0];
  const double la = phi[1];
  const double ll = phi[2];
  const double wilson = (ra + la + ll) / 3.0;
  return {la - ra,
          ll - ra,
          ll - la,
          ra - 0.5 * (la + ll),
          la - 0.5 * (ra + ll),
          ll - 0.5 * (ra + la),
          phi[3] - wilson,
          phi[4] - wilson,
          phi[5] - wilson,
          phi[6] - wilson,
          phi[7] - wilson,
          phi[8] - wilson};
}

}  // namespace cardiofair
