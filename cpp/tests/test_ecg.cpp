// The lead-field weights against the direct pseudo-ECG sum over edges and the
// continuum integral, and the histogram form against direct evaluation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cardiofair/action_potential.hpp"
#include "cardiofair/ecg.hpp"
#include "cardiofair/simulation.hpp"
#include "cardiofair/testing.hpp"

using namespace cardiofair;

namespace {

const HeartPose kIdentity{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};

// Cubic cells of edge h filling [-a, a] x [-a, a] x [-c, c] (mm).
TissueGrid slab(double h, double a, double c) {
  const int sx = static_cast<int>(std::lround(2.0 * a / h));
  const int sz = static_cast<int>(std::lround(2.0 * c / h));
  TissueGrid grid;
  grid.spacing_mm = h;
  for (int k = 0; k < sz; ++k)
    for (int j = 0; j < sx; ++j)
      for (int i = 0; i < sx; ++i)
        grid.position.push_back(
            {-a + h * (i + 0.5), -a + h * (j + 0.5), -c + h * (k + 0.5)});
  grid.neighbours.assign(grid.size() * 6, -1);
  auto id = [&](int i, int j, int k) { return (k * sx + j) * sx + i; };
  for (int k = 0; k < sz; ++k)
    for (int j = 0; j < sx; ++j)
      for (int i = 0; i < sx; ++i) {
        int* nb = &grid.neighbours[static_cast<std::size_t>(id(i, j, k)) * 6];
        if (i > 0) nb[0] = id(i - 1, j, k);
        if (i + 1 < sx) nb[1] = id(i + 1, j, k);
        if (j > 0) nb[2] = id(i, j - 1, k);
        if (j + 1 < sx) nb[3] = id(i, j + 1, k);
        if (k > 0) nb[4] = id(i, j, k - 1);
        if (k + 1 < sz) nb[5] = id(i, j, k + 1);
      }
  return grid;
}

std::array<Vec3, kElectrodeCount> electrodes() {
  std::array<Vec3, kElectrodeCount> sites;
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    const double angle = 0.7 * static_cast<double>(e);
    sites[e] = {40.0 * std::cos(angle), 40.0 * std::sin(angle),
                15.0 + 3.0 * static_cast<double>(e)};
  }
  return sites;
}

// A smooth depolarisation front: Vm = 1 / (1 + exp(-(x - 2 y / 3) / 2)).
double front(Vec3 p) { return 1.0 / (1.0 + std::exp(-(p.x - 2.0 * p.y / 3.0) / 2.0)); }

void weights_sum_to_zero_and_match_the_edge_sum() {
  const TissueGrid grid = slab(1.0, 8.0, 3.0);
  std::array<double, kElectrodeCount> gains;
  gains.fill(1.0);
  const auto sites = electrodes();
  const auto w = electrode_weights(grid, kIdentity, sites, gains);
  std::vector<double> vm(grid.size());
  for (std::size_t n = 0; n < grid.size(); ++n) vm[n] = front(grid.position[n]);
  const auto direct = pseudo_ecg_direct(grid, kIdentity, sites, gains, vm);
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    double total = 0.0, magnitude = 0.0, field = 0.0;
    for (std::size_t n = 0; n < grid.size(); ++n) {
      total += w[n * kElectrodeCount + e];
      magnitude += std::fabs(w[n * kElectrodeCount + e]);
      field += w[n * kElectrodeCount + e] * vm[n];
    }
    CF_CHECK(std::fabs(total) < 1e-12 * magnitude);
    CF_CHECK_NEAR(field, direct[e], 1e-12 * std::fabs(direct[e]) + 1e-15);
  }
}

// -1/(4 pi) * integral of grad Vm . grad(1/r) by the midpoint rule with exact
// gradients, on a grid eight times finer than the coarsest tested.
double continuum_integral(Vec3 site) {
  const double h = 0.125;
  double sum = 0.0;
  for (double x = -8.0 + h / 2; x < 8.0; x += h)
    for (double y = -8.0 + h / 2; y < 8.0; y += h)
      for (double z = -3.0 + h / 2; z < 3.0; z += h) {
        const Vec3 p{x, y, z};
        const double v = front(p);
        const double dv = v * (1.0 - v) / 2.0;
        const Vec3 grad_v{dv, -2.0 * dv / 3.0, 0.0};
        const Vec3 d = p - site;
        const double r = std::sqrt(dot(d, d));
        const Vec3 grad_z = (-1.0 / (r * r * r)) * d;
        sum += dot(grad_v, grad_z);
      }
  return -sum * h * h * h / (4.0 * 3.14159265358979323846);
}

void lead_field_converges_to_the_continuum_integral() {
  const auto sites = electrodes();
  std::array<double, kElectrodeCount> gains;
  gains.fill(1.0);
  const double exact = continuum_integral(sites[0]);
  double previous = 1.0;
  for (double h : {1.0, 0.5, 0.25}) {
    const TissueGrid grid = slab(h, 8.0, 3.0);
    std::vector<double> vm(grid.size());
    for (std::size_t n = 0; n < grid.size(); ++n) vm[n] = front(grid.position[n]);
    const double got = pseudo_ecg_direct(grid, kIdentity, sites, gains, vm)[0];
    const double rel = std::fabs(got - exact) / std::fabs(exact);
    std::printf("h=%.2f lead field %.6g continuum %.6g rel %.4f\n", h, got, exact, rel);
    CF_CHECK(rel < previous);
    previous = rel;
  }
  CF_CHECK(previous < 0.1);
}

void histogram_form_equals_direct_evaluation() {
  const TissueGrid grid = slab(1.0, 4.0, 2.0);
  std::array<double, kElectrodeCount> gains;
  gains.fill(1.0);
  const auto w = electrode_weights(grid, kIdentity, electrodes(), gains);
  const double step = 2.0;
  const ApShapes shapes = make_ap_shapes(step, 8.0, kVentricularPlateauLeadMs);
  const std::size_t bins = 400;
  EventHistogram up(bins, 0.0, step), rep(bins, 0.0, step);
  std::vector<double> tau(grid.size()), rho(grid.size());
  for (std::size_t n = 0; n < grid.size(); ++n) {
    const Vec3 p = grid.position[n];
    tau[n] = 50.0 + 3.1 * (p.x + 4.0) + 1.7 * (p.y + 4.0) + 0.37 * p.z;
    rho[n] = tau[n] + 260.0 - 2.3 * p.x;
    up.add(&w[n * kElectrodeCount], tau[n]);
    rep.add(&w[n * kElectrodeCount], rho[n]);
  }
  const auto a = up.convolve(shapes.upstroke);
  const auto b = rep.convolve(shapes.repolarisation);
  // Direct: sum_n w_n (U(t - tau_n) - R(t - rho_n)), the shapes read by linear
  // interpolation that ramps from 0 one step before their first sample.
  auto read = [](const Shape& s, double t) {
    const double x = (t - s.t0_ms) / s.dt_ms;
    if (x <= -1.0) return 0.0;
    if (x < 0.0) return (x + 1.0) * s.values.front();
    return s.at(t);
  };
  double worst = 0.0, peak = 0.0;
  for (std::size_t k = 0; k < bins; ++k) {
    const double t = static_cast<double>(k) * step;
    for (std::size_t e = 0; e < kElectrodeCount; ++e) {
      double direct = 0.0;
      for (std::size_t n = 0; n < grid.size(); ++n) {
        direct +=
            w[n * kElectrodeCount + e] * (read(shapes.upstroke, t - tau[n]) -
                                          read(shapes.repolarisation, t - rho[n]));
      }
      const double fast = a[k * kElectrodeCount + e] - b[k * kElectrodeCount + e];
      worst = std::max(worst, std::fabs(fast - direct));
      peak = std::max(peak, std::fabs(direct));
    }
  }
  std::printf("histogram vs direct: worst %.3g of peak %.3g\n", worst, peak);
  CF_CHECK(peak > 0.0);
  CF_CHECK(worst < 1e-10 * peak);
}

void shifted_events_equal_adding_every_event() {
  // Random weights and times, some unreached, deposited at origins with every
  // kind of fraction, including ones that push events off either end.
  const std::size_t n = 500;
  std::vector<double> weights(n * kElectrodeCount);
  std::vector<double> times(n);
  std::uint64_t state = 12345;
  const auto uniform = [&]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (double& w : weights) w = uniform() - 0.5;
  for (std::size_t i = 0; i < n; ++i) {
    times[i] = i % 37 == 0 ? INFINITY : 120.0 * uniform();
  }
  times[1] = 4.0;  // exactly on a bin edge
  const double step = 2.0;
  const ShiftedEvents events(weights, times, step);
  for (double origin : {0.0, 0.3, 1.0, 1.7, 2.0, -30.25, 77.9, 141.1}) {
    EventHistogram direct(80, -5.0, step);
    EventHistogram grouped(80, -5.0, step);
    for (std::size_t i = 0; i < n; ++i) {
      direct.add(&weights[i * kElectrodeCount], origin + times[i]);
    }
    events.add_to(grouped, origin);
    const Shape unit{0.0, step, {1.0}};  // a step: the running sum of the bins
    const std::vector<double> a = direct.convolve(unit);
    const std::vector<double> b = grouped.convolve(unit);
    double worst = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    std::printf("shifted events at origin %.2f: max difference %.2e\n", origin, worst);
    CF_CHECK(worst < 1e-12);
  }
}

void standard_leads_follow_einthoven_and_wilson() {
  const double phi[kElectrodeCount] = {0.1, 0.7, -0.2, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0};
  const auto leads = standard_leads(phi);
  CF_CHECK_NEAR(leads[1], leads[0] + leads[2], 1e-15);        // II = I + III
  CF_CHECK_NEAR(leads[3] + leads[4] + leads[5], 0.0, 1e-15);  // aVR + aVL + aVF
  CF_CHECK_NEAR(leads[6], 1.0 - (0.1 + 0.7 - 0.2) / 3.0, 1e-15);
}

}  // namespace

int main() {
  weights_sum_to_zero_and_match_the_edge_sum();
  shifted_events_equal_adding_every_event();
  lead_field_converges_to_the_continuum_integral();
  histogram_form_equals_direct_evaluation();
  standard_leads_follow_einthoven_and_wilson();
  return cardiofair::testing::report("test_ecg");
}
