#include "cardiofair/action_potential.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace cardiofair {

namespace {

constexpr double kFineMs = 0.01;    // integration step
constexpr double kCoarseMs = 0.5;   // step of the intermediate shapes
constexpr double kTraceMs = 700.0;  // length of the integrated trace

struct Trace {
  std::vector<double> v;
  double peak = 0.0;
  double t_peak = 0.0;
  double t_up = 0.0;  // 50 % upstroke
  double t_90 = 0.0;  // 90 % repolarisation
};

double sample(const std::vector<double>& v, double t_ms) {
  const double x = t_ms / kFineMs;
  if (x <= 0.0) return v.front();
  const auto i = static_cast<std::size_t>(x);
  if (i + 1 >= v.size()) return v.back();
  const double f = x - static_cast<double>(i);
  return v[i] * (1.0 - f) + v[i + 1] * f;
}

Trace trace_of(const MitchellSchaeffer& cell) {
  Trace tr;
  tr.v = integrate_mitchell_schaeffer(cell, kFineMs, kTraceMs);
  const auto peak_it = std::max_element(tr.v.begin(), tr.v.end());
  tr.peak = *peak_it;
  const auto i_peak = static_cast<std::size_t>(peak_it - tr.v.begin());
  tr.t_peak = static_cast<double>(i_peak) * kFineMs;
  const double half = 0.5 * tr.peak;
  const double tenth = 0.1 * tr.peak;
  bool found_up = false;
  bool found_90 = false;
  for (std::size_t i = 1; i <= i_peak; ++i) {
    if (tr.v[i] >= half) {
      const double f = (half - tr.v[i - 1]) / (tr.v[i] - tr.v[i - 1]);
      tr.t_up = (static_cast<double>(i - 1) + f) * kFineMs;
      found_up = true;
      break;
    }
  }
  for (std::size_t i = i_peak + 1; i < tr.v.size(); ++i) {
    if (tr.v[i] <= tenth) {
      const double f = (tr.v[i - 1] - tenth) / (tr.v[i - 1] - tr.v[i]);
      tr.t_90 = (static_cast<double>(i - 1) + f) * kFineMs;
      found_90 = true;
      break;
    }
  }
  if (!found_up || !found_90) {
    throw std::invalid_argument(
        "Mitchell-Schaeffer cell did not fire and repolarise within 700 ms");
  }
  return tr;
}

double smoothstep(double x) {
  const double c = std::clamp(x, 0.0, 1.0);
  return c * c * (3.0 - 2.0 * c);
}

// Gaussian smoothing on the coarse grid; the shape is 0 before and holds its
// last value after the sampled range.
std::vector<double> smooth(const std::vector<double>& values, double sigma_ms) {
  if (sigma_ms <= 0.0) return values;
  const double sigma = sigma_ms / kCoarseMs;
  const auto half = static_cast<long>(std::ceil(4.0 * sigma));
  std::vector<double> kernel(static_cast<std::size_t>(2 * half + 1));
  double total = 0.0;
  for (long i = -half; i <= half; ++i) {
    const double x = static_cast<double>(i) / sigma;
    kernel[static_cast<std::size_t>(i + half)] = std::exp(-0.5 * x * x);
    total += kernel[static_cast<std::size_t>(i + half)];
  }
  const auto n = static_cast<long>(values.size());
  std::vector<double> out(values.size(), 0.0);
  for (long i = 0; i < n; ++i) {
    double acc = 0.0;
    for (long k = -half; k <= half; ++k) {
      const long j = i - k;
      const double value =
          j < 0 ? 0.0 : (j >= n ? values.back() : values[static_cast<std::size_t>(j)]);
      acc += kernel[static_cast<std::size_t>(k + half)] * value;
    }
    out[static_cast<std::size_t>(i)] = acc / total;
  }
  return out;
}

// Resamples a coarse shape (starting at coarse_t0) at the output step.
Shape resample(const std::vector<double>& coarse, double coarse_t0, double t_first,
               double t_last, double sample_ms) {
  Shape shape;
  shape.dt_ms = sample_ms;
  const auto m0 = static_cast<long>(std::ceil(-t_first / sample_ms));
  const auto m1 = static_cast<long>(std::ceil(t_last / sample_ms));
  shape.t0_ms = -static_cast<double>(m0) * sample_ms;
  Shape source{coarse_t0, kCoarseMs, coarse};
  for (long m = -m0; m <= m1; ++m) {
    shape.values.push_back(source.at(static_cast<double>(m) * sample_ms));
  }
  return shape;
}

}  // namespace

std::vector<double> integrate_mitchell_schaeffer(const MitchellSchaeffer& cell,
                                                 double dt_ms, double duration_ms) {
  const auto steps = static_cast<std::size_t>(std::lround(duration_ms / dt_ms));
  std::vector<double> trace(steps + 1);
  double v = 0.0;
  double gate = 1.0;
  trace[0] = v;
  for (std::size_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) * dt_ms;
    const double stimulus = t < 0.5 ? 0.5 : 0.0;
    const double dv =
        gate * v * v * (1.0 - v) / cell.tau_in_ms - v / cell.tau_out_ms + stimulus;
    const double dgate =
        v < cell.v_gate ? (1.0 - gate) / cell.tau_open_ms : -gate / cell.tau_close_ms;
    v += dt_ms * dv;
    gate += dt_ms * dgate;
    trace[i + 1] = v;
  }
  return trace;
}

double mitchell_schaeffer_apd90_ms(const MitchellSchaeffer& cell) {
  const Trace tr = trace_of(cell);
  return tr.t_90 - tr.t_up;
}

double Shape::at(double t_ms) const {
  const double x = (t_ms - t0_ms) / dt_ms;
  if (x <= 0.0) return x < 0.0 ? 0.0 : values.front();
  const auto i = static_cast<std::size_t>(x);
  if (i + 1 >= values.size()) return values.back();
  const double f = x - static_cast<double>(i);
  return values[i] * (1.0 - f) + values[i + 1] * f;
}

ApShapes make_ap_shapes(double sample_ms, double smoothing_ms, double plateau_lead_ms) {
  // The template cell never changes: integrate it once per process.
  static const Trace tr = trace_of(MitchellSchaeffer{});
  const double apd = tr.t_90 - tr.t_up;

  // Upstroke, relative to the 50 % point, held at 1 after the peak.
  const double up_first = -3.0;
  const double up_last = tr.t_peak - tr.t_up + 1.0;
  std::vector<double> up;
  for (double s = up_first; s <= up_last + 1e-9; s += kCoarseMs) {
    const double t = tr.t_up + s;
    up.push_back(t >= tr.t_peak ? 1.0 : std::max(0.0, sample(tr.v, t)) / tr.peak);
  }

  // Repolarisation, relative to the 90 % point, faded in over the whole
  // plateau lead. Cells of long and short APD share their early plateau and
  // differ in when phase 3 comes, so APD dispersion shows in the ECG as a T
  // wave that rises gradually out of a near-isoelectric ST segment. A fade over
  // a fraction of the lead steps onto the template's sloping plateau: a notch
  // in the ST segment and a second hump before the T wave.
  // The grid starts early enough for the smoothing to fade out before it.
  const double rep_first = -plateau_lead_ms;
  const double rep_last = 80.0;
  const double grid_first =
      rep_first - std::ceil(4.0 * smoothing_ms / kCoarseMs) * kCoarseMs;
  std::vector<double> rep;
  for (double s = grid_first; s <= rep_last + 1e-9; s += kCoarseMs) {
    const double t = tr.t_up + apd + s;
    const double raw = 1.0 - sample(tr.v, t) / tr.peak;
    rep.push_back(smoothstep((s - rep_first) / plateau_lead_ms) * raw);
  }
  rep = smooth(rep, smoothing_ms);

  ApShapes shapes;
  shapes.template_apd90_ms = apd;
  shapes.upstroke = resample(up, up_first, up_first, up_last, sample_ms);
  shapes.repolarisation =
      resample(rep, grid_first, grid_first, rep_last + 4.0 * smoothing_ms, sample_ms);
  return shapes;
}

}  // namespace cardiofair
