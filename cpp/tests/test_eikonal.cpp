// Eikonal activation against analytic travel times on a slab and a sphere, and
// conduction velocity recovered from simulated activation.
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "cardiofair/eikonal.hpp"
#include "cardiofair/testing.hpp"

using namespace cardiofair;

namespace {

// Tissue = voxel centres (multiples of h) inside [-half, half] that satisfy keep.
TissueGrid box_grid(double h, Vec3 half, const std::function<bool(Vec3)>& keep) {
  const int nx = static_cast<int>(std::lround(half.x / h));
  const int ny = static_cast<int>(std::lround(half.y / h));
  const int nz = static_cast<int>(std::lround(half.z / h));
  const int sx = 2 * nx + 1, sy = 2 * ny + 1, sz = 2 * nz + 1;
  std::vector<int> index(static_cast<std::size_t>(sx * sy * sz), -1);
  TissueGrid grid;
  grid.spacing_mm = h;
  auto at = [&](int i, int j, int k) -> int& {
    return index[static_cast<std::size_t>((k * sy + j) * sx + i)];
  };
  for (int k = 0; k < sz; ++k)
    for (int j = 0; j < sy; ++j)
      for (int i = 0; i < sx; ++i) {
        const Vec3 p{(i - nx) * h, (j - ny) * h, (k - nz) * h};
        if (!keep(p)) continue;
        at(i, j, k) = static_cast<int>(grid.position.size());
        grid.position.push_back(p);
      }
  grid.neighbours.assign(grid.size() * 6, -1);
  for (int k = 0; k < sz; ++k)
    for (int j = 0; j < sy; ++j)
      for (int i = 0; i < sx; ++i) {
        const int n = at(i, j, k);
        if (n < 0) continue;
        int* nb = &grid.neighbours[static_cast<std::size_t>(n) * 6];
        if (i > 0) nb[0] = at(i - 1, j, k);
        if (i + 1 < sx) nb[1] = at(i + 1, j, k);
        if (j > 0) nb[2] = at(i, j - 1, k);
        if (j + 1 < sy) nb[3] = at(i, j + 1, k);
        if (k > 0) nb[4] = at(i, j, k - 1);
        if (k + 1 < sz) nb[5] = at(i, j, k + 1);
      }
  return grid;
}

ConductionField uniform_field(std::size_t n, Vec3 fibre, double vf, double vt) {
  return {std::vector<Vec3>(n, fibre), std::vector<double>(n, vf),
          std::vector<double>(n, vt)};
}

// Travel time from the origin: sqrt(x^T M^-1 x).
double analytic_time(Vec3 x, Vec3 f, double vf, double vt) {
  const double along = dot(x, f);
  const double across2 = dot(x, x) - along * along;
  return std::sqrt(along * along / (vf * vf) + across2 / (vt * vt));
}

struct Errors {
  double mean_relative;
  double max_relative;
};

Errors point_source_errors(double h, const std::function<bool(Vec3)>& keep, Vec3 half,
                           Vec3 fibre, double vf, double vt) {
  const TissueGrid grid = box_grid(h, half, keep);
  const int source = nearest_node(grid, {0.0, 0.0, 0.0});
  const auto times =
      solve_eikonal(grid, uniform_field(grid.size(), fibre, vf, vt), {{source, 0.0}});
  double sum = 0.0, worst = 0.0;
  int count = 0;
  for (std::size_t n = 0; n < grid.size(); ++n) {
    const Vec3 p = grid.position[n];
    if (std::sqrt(dot(p, p)) < 4.0) continue;  // the source's own singularity
    const double exact = analytic_time(p, fibre, vf, vt);
    const double rel = std::fabs(times[n] - exact) / exact;
    sum += rel;
    worst = std::max(worst, rel);
    ++count;
  }
  return {sum / count, worst};
}

void slab_point_source_converges() {
  const Vec3 fibre = normalized({std::cos(0.5), std::sin(0.5), 0.0});
  const auto slab = [](Vec3) { return true; };
  const Vec3 half{12.0, 12.0, 3.0};
  double previous = 1.0;
  for (double h : {1.0, 0.5, 0.25}) {
    const Errors e = point_source_errors(h, slab, half, fibre, 0.6, 0.24);
    std::printf("slab h=%.2f mean rel %.4f max rel %.4f\n", h, e.mean_relative,
                e.max_relative);
    CF_CHECK(e.mean_relative < previous);
    previous = e.mean_relative;
  }
  CF_CHECK(previous < 0.045);
}

void sphere_point_source_converges() {
  const auto ball = [](Vec3 p) { return dot(p, p) <= 10.0 * 10.0; };
  const Vec3 half{10.0, 10.0, 10.0};
  double previous = 1.0;
  for (double h : {1.0, 0.5, 0.25}) {
    const Errors e = point_source_errors(h, ball, half, {1.0, 0.0, 0.0}, 0.5, 0.5);
    std::printf("sphere h=%.2f mean rel %.4f max rel %.4f\n", h, e.mean_relative,
                e.max_relative);
    CF_CHECK(e.mean_relative < previous);
    previous = e.mean_relative;
  }
  CF_CHECK(previous < 0.03);
}

// A plane wave from the x = -half face; returns the fitted front speed along x.
double plane_wave_speed(Vec3 fibre, double vf, double vt) {
  // Wide enough that the lateral boundaries' influence, which travels along the
  // oblique rays, does not reach the fitted centre strip.
  const double h = 0.5;
  const TissueGrid grid = box_grid(h, {10.0, 20.0, 1.0}, [](Vec3) { return true; });
  std::vector<ActivationSource> sources;
  for (std::size_t n = 0; n < grid.size(); ++n) {
    if (grid.position[n].x <= -10.0 + 1e-9)
      sources.push_back({static_cast<int>(n), 0.0});
  }
  const auto times =
      solve_eikonal(grid, uniform_field(grid.size(), fibre, vf, vt), sources);
  // Least-squares slope of time against x over the interior.
  double sx = 0, st = 0, sxx = 0, sxt = 0;
  int count = 0;
  for (std::size_t n = 0; n < grid.size(); ++n) {
    const Vec3 p = grid.position[n];
    if (std::fabs(p.y) > 2.0 || std::fabs(p.x) > 6.0) continue;
    sx += p.x;
    st += times[n];
    sxx += p.x * p.x;
    sxt += p.x * times[n];
    ++count;
  }
  const double slope = (count * sxt - sx * st) / (count * sxx - sx * sx);
  return 1.0 / slope;
}

void conduction_velocity_recovered() {
  CF_CHECK_NEAR(plane_wave_speed({1.0, 0.0, 0.0}, 0.65, 0.26), 0.65, 1e-6);
  CF_CHECK_NEAR(plane_wave_speed({0.0, 1.0, 0.0}, 0.65, 0.26), 0.26, 1e-6);
  // Fibres at 40 degrees: a plane front normal to x moves at sqrt(x^T M x).
  const double angle = 40.0 * 3.14159265358979 / 180.0;
  const Vec3 fibre{std::cos(angle), std::sin(angle), 0.0};
  const double c = std::cos(angle);
  const double expected = std::sqrt(0.65 * 0.65 * c * c + 0.26 * 0.26 * (1.0 - c * c));
  const double got = plane_wave_speed(fibre, 0.65, 0.26);
  std::printf("oblique fibres: speed %.4f expected %.4f\n", got, expected);
  CF_CHECK_NEAR(got, expected, 0.03 * expected);
}

void sources_and_unreached_nodes() {
  // Two disconnected voxels: the one without a source stays at +inf.
  TissueGrid grid;
  grid.spacing_mm = 1.0;
  grid.position = {{0, 0, 0}, {5, 0, 0}};
  grid.neighbours.assign(12, -1);
  const auto times =
      solve_eikonal(grid, uniform_field(2, {1, 0, 0}, 1.0, 1.0), {{0, 3.0}});
  CF_CHECK(times[0] == 3.0);
  CF_CHECK(std::isinf(times[1]));
}

}  // namespace

int main() {
  slab_point_source_converges();
  sphere_point_source_converges();
  conduction_velocity_recovered();
  sources_and_unreached_nodes();
  return cardiofair::testing::report("test_eikonal");
}
