#include "cardiofair/geometry.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "cardiofair/rng.hpp"

namespace cardiofair {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;

// Voxel centres are integer multiples of the spacing, so that grids built by
// different implementations hold exactly the same points.
struct VoxelBox {
  double h;
  int i0, j0, k0;
  int nx, ny, nz;

  VoxelBox(Vec3 lo, Vec3 hi, double spacing)
      : h(spacing),
        i0(static_cast<int>(std::floor(lo.x / spacing))),
        j0(static_cast<int>(std::floor(lo.y / spacing))),
        k0(static_cast<int>(std::floor(lo.z / spacing))),
        nx(static_cast<int>(std::ceil(hi.x / spacing)) - i0 + 1),
        ny(static_cast<int>(std::ceil(hi.y / spacing)) - j0 + 1),
        nz(static_cast<int>(std::ceil(hi.z / spacing)) - k0 + 1) {}

  std::size_t count() const {
    return static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) *
           static_cast<std::size_t>(nz);
  }
  std::size_t index(int i, int j, int k) const {
    return (static_cast<std::size_t>(k) * static_cast<std::size_t>(ny) +
            static_cast<std::size_t>(j)) *
               static_cast<std::size_t>(nx) +
           static_cast<std::size_t>(i);
  }
  Vec3 centre(int i, int j, int k) const {
    return {static_cast<double>(i + i0) * h, static_cast<double>(j + j0) * h,
            static_cast<double>(k + k0) * h};
  }
};

void check_memory(const VoxelBox& box) {
  check_grid_memory(box.count(), available_memory_bytes());
}

// Squared ellipsoidal radius of p for an axis-aligned ellipsoid.
double ellipsoid_q2(Vec3 p, Vec3 centre, double a, double b, double c) {
  const double u = (p.x - centre.x) / a;
  const double v = (p.y - centre.y) / b;
  const double w = (p.z - centre.z) / c;
  return u * u + v * v + w * w;
}

// Position across a wall between two concentric ellipsoids along the ray from
// their centre: 0 on the inner surface, 1 on the outer.
double wall_fraction(double q2_inner, double q2_outer) {
  const double inv_in = 1.0 / std::sqrt(q2_inner);
  const double inv_out = 1.0 / std::sqrt(q2_outer);
  return std::clamp((1.0 - inv_in) / (inv_out - inv_in), 0.0, 1.0);
}

// Multi-source breadth-first layering through tissue voxels: depth 1 for tissue
// touching a seed voxel, up to max_depth; 0 where not reached.
std::vector<std::uint8_t> layer_depth(const VoxelBox& box,
                                      const std::vector<std::uint8_t>& is_seed,
                                      const std::vector<std::uint8_t>& is_tissue,
                                      int max_depth) {
  std::vector<std::uint8_t> depth(box.count(), 0);
  std::vector<std::size_t> frontier;
  for (std::size_t v = 0; v < box.count(); ++v) {
    if (is_seed[v]) frontier.push_back(v);
  }
  const long sx = 1;
  const long sy = box.nx;
  const long sz = static_cast<long>(box.nx) * box.ny;
  for (int level = 1; level <= max_depth && !frontier.empty(); ++level) {
    std::vector<std::size_t> next;
    for (std::size_t v : frontier) {
      const long i = static_cast<long>(v) % sy;
      const long j = (static_cast<long>(v) / sy) % box.ny;
      const long k = static_cast<long>(v) / sz;
      const long steps[6] = {-sx, sx, -sy, sy, -sz, sz};
      const bool inside[6] = {i > 0,          i + 1 < box.nx, j > 0,
                              j + 1 < box.ny, k > 0,          k + 1 < box.nz};
      for (int d = 0; d < 6; ++d) {
        if (!inside[d]) continue;
        const auto u = static_cast<std::size_t>(static_cast<long>(v) + steps[d]);
        if (is_tissue[u] && depth[u] == 0 && !is_seed[u]) {
          depth[u] = static_cast<std::uint8_t>(level);
          next.push_back(u);
        }
      }
    }
    frontier.swap(next);
  }
  return depth;
}

// Numbers tissue voxels in memory order and links each to its 6 neighbours.
TissueGrid make_grid(const VoxelBox& box, const std::vector<std::uint8_t>& is_tissue,
                     std::vector<int>& node_of_voxel) {
  TissueGrid grid;
  grid.spacing_mm = box.h;
  node_of_voxel.assign(box.count(), -1);
  for (int k = 0; k < box.nz; ++k) {
    for (int j = 0; j < box.ny; ++j) {
      for (int i = 0; i < box.nx; ++i) {
        const std::size_t v = box.index(i, j, k);
        if (!is_tissue[v]) continue;
        node_of_voxel[v] = static_cast<int>(grid.position.size());
        grid.position.push_back(box.centre(i, j, k));
      }
    }
  }
  grid.neighbours.assign(grid.size() * 6, -1);
  for (int k = 0; k < box.nz; ++k) {
    for (int j = 0; j < box.ny; ++j) {
      for (int i = 0; i < box.nx; ++i) {
        const int n = node_of_voxel[box.index(i, j, k)];
        if (n < 0) continue;
        int* nb = &grid.neighbours[static_cast<std::size_t>(n) * 6];
        if (i > 0) nb[0] = node_of_voxel[box.index(i - 1, j, k)];
        if (i + 1 < box.nx) nb[1] = node_of_voxel[box.index(i + 1, j, k)];
        if (j > 0) nb[2] = node_of_voxel[box.index(i, j - 1, k)];
        if (j + 1 < box.ny) nb[3] = node_of_voxel[box.index(i, j + 1, k)];
        if (k > 0) nb[4] = node_of_voxel[box.index(i, j, k - 1)];
        if (k + 1 < box.nz) nb[5] = node_of_voxel[box.index(i, j, k + 1)];
      }
    }
  }
  return grid;
}

bool in_territory(int territory, double theta_deg, double apicobasal) {
  switch (territory) {
    case 1:  // anterior wall, anterior septum and apex (LAD)
      return (theta_deg <= 120.0 && apicobasal <= 0.8) || apicobasal <= 0.2;
    case 2:  // inferior wall and inferior septum (RCA)
      return theta_deg >= 230.0 && theta_deg <= 340.0 && apicobasal >= 0.15;
    case 3:  // lateral wall (LCX)
      return theta_deg >= 120.0 && theta_deg <= 230.0 && apicobasal >= 0.3;
    default:
      return false;
  }
}

int layer_voxels(double thickness_mm, double h) {
  return std::max(1, static_cast<int>(std::lround(thickness_mm / h)));
}

}  // namespace

void check_grid_memory(std::size_t n_voxels, double available_bytes) {
  const double needed = static_cast<double>(n_voxels) * 160.0;
  if (available_bytes <= 0.0 || needed <= 0.8 * available_bytes) return;
  throw InsufficientMemory(
      "grid of " + std::to_string(n_voxels) + " voxels needs about " +
      std::to_string(static_cast<long long>(needed / 1048576.0)) + " MiB but only " +
      std::to_string(static_cast<long long>(available_bytes / 1048576.0)) +
      " MiB are available; increase grid_spacing_mm");
}

double available_memory_bytes() {
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0.0;
  return static_cast<double>(pages) * static_cast<double>(page_size);
}

Vec3 cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

Vec3 normalized(Vec3 a) {
  const double norm = std::sqrt(dot(a, a));
  return {a.x / norm, a.y / norm, a.z / norm};
}

Vec3 HeartPose::to_body(Vec3 p) const {
  return {x_axis.x * p.x + y_axis.x * p.y + z_axis.x * p.z,
          x_axis.y * p.x + y_axis.y * p.y + z_axis.y * p.z,
          x_axis.z * p.x + y_axis.z * p.y + z_axis.z * p.z};
}

VentricularAnatomy build_ventricles(const PatientParameters& params) {
  const double h = params[Param::grid_spacing_mm];
  const double r_lv = params[Param::lv_radius_mm];
  const double l_lv = params[Param::lv_length_mm];
  const double w_lv = params[Param::lv_wall_mm];
  const double a_rv = 0.75 * params[Param::rv_radius_mm];
  const double b_rv = 1.2 * params[Param::rv_radius_mm];
  const double c_rv = 0.8 * l_lv;
  const double w_rv = params[Param::rv_wall_mm];
  const Vec3 lv_centre{0.0, 0.0, 0.0};
  const Vec3 rv_centre{-0.85 * (r_lv + w_lv), 0.0, 0.0};

  const double reach_y = std::max(r_lv + w_lv, b_rv + w_rv);
  const VoxelBox box({rv_centre.x - a_rv - w_rv, -reach_y, -(l_lv + w_lv)},
                     {r_lv + w_lv, reach_y, 0.0}, h);
  check_memory(box);

  const std::size_t n_vox = box.count();
  std::vector<std::uint8_t> lv_cavity(n_vox, 0), rv_cavity(n_vox, 0);
  std::vector<std::uint8_t> tissue(n_vox, 0), rv_wall(n_vox, 0), scar(n_vox, 0);
  std::vector<double> frac(n_vox, 0.0), height(n_vox, 0.0), theta(n_vox, 0.0);
  const int territory = params.as_int(Param::infarct_territory);
  const double transmurality = params[Param::infarct_transmurality];

  for (int k = 0; k < box.nz; ++k) {
    for (int j = 0; j < box.ny; ++j) {
      for (int i = 0; i < box.nx; ++i) {
        const std::size_t v = box.index(i, j, k);
        const Vec3 p = box.centre(i, j, k);
        if (p.z > 0.0) continue;
        const double q_lv_in = ellipsoid_q2(p, lv_centre, r_lv, r_lv, l_lv);
        const double q_lv_out =
            ellipsoid_q2(p, lv_centre, r_lv + w_lv, r_lv + w_lv, l_lv + w_lv);
        const double q_rv_in = ellipsoid_q2(p, rv_centre, a_rv, b_rv, c_rv);
        const double q_rv_out =
            ellipsoid_q2(p, rv_centre, a_rv + w_rv, b_rv + w_rv, c_rv + w_rv);
        if (q_lv_in < 1.0) {
          lv_cavity[v] = 1;
        } else if (q_lv_out <= 1.0) {
          double angle = std::atan2(p.y, -p.x) / kDeg;
          if (angle < 0.0) angle += 360.0;
          theta[v] = angle;
          frac[v] = wall_fraction(q_lv_in, q_lv_out);
          height[v] = std::clamp(1.0 + p.z / (l_lv + w_lv), 0.0, 1.0);
          if (in_territory(territory, angle, height[v]) && frac[v] <= transmurality) {
            scar[v] = 1;
          } else {
            tissue[v] = 1;
          }
        } else if (q_rv_in < 1.0) {
          rv_cavity[v] = 1;
        } else if (q_rv_out <= 1.0) {
          tissue[v] = 1;
          rv_wall[v] = 1;
          double angle = std::atan2(p.y, -p.x) / kDeg;
          if (angle < 0.0) angle += 360.0;
          theta[v] = angle;
          frac[v] = wall_fraction(q_rv_in, q_rv_out);
          height[v] = std::clamp(1.0 + p.z / (c_rv + w_rv), 0.0, 1.0);
        }
      }
    }
  }

  const int endo_layers = layer_voxels(params[Param::endocardial_layer_mm], h);
  const auto lv_depth = layer_depth(box, lv_cavity, tissue, endo_layers);
  const auto rv_depth = layer_depth(box, rv_cavity, tissue, endo_layers);
  const double border_mm = params[Param::infarct_border_mm];
  std::vector<std::uint8_t> border_depth(n_vox, 0);
  if (border_mm > 0.0) {
    border_depth = layer_depth(box, scar, tissue, layer_voxels(border_mm, h));
  }

  VentricularAnatomy anatomy;
  std::vector<int> node_of_voxel;
  anatomy.grid = make_grid(box, tissue, node_of_voxel);
  anatomy.rv_centre_x_mm = rv_centre.x;
  anatomy.n_scar = static_cast<std::size_t>(std::count(scar.begin(), scar.end(), 1));
  const std::size_t n = anatomy.grid.size();
  anatomy.is_rv.resize(n);
  anatomy.transmural.resize(n);
  anatomy.apicobasal.resize(n);
  anatomy.circumferential_deg.resize(n);
  anatomy.fibre.resize(n);
  anatomy.lv_endocardium.resize(n);
  anatomy.rv_endocardium.resize(n);
  anatomy.border_zone.resize(n);

  const double alpha_endo = params[Param::fibre_angle_endo_deg] * kDeg;
  const double alpha_epi = params[Param::fibre_angle_epi_deg] * kDeg;
  for (std::size_t v = 0; v < n_vox; ++v) {
    const int node = node_of_voxel[v];
    if (node < 0) continue;
    const auto m = static_cast<std::size_t>(node);
    const Vec3 p = anatomy.grid.position[m];
    anatomy.is_rv[m] = rv_wall[v];
    anatomy.transmural[m] = frac[v];
    anatomy.apicobasal[m] = height[v];
    anatomy.circumferential_deg[m] = theta[v];
    anatomy.lv_endocardium[m] = lv_depth[v] > 0 ? 1 : 0;
    anatomy.rv_endocardium[m] = rv_depth[v] > 0 ? 1 : 0;
    anatomy.border_zone[m] = border_depth[v] > 0 ? 1 : 0;
    // Rule-based fibres: helix angle turning linearly from endo- to epicardium
    // around the cavity's own long axis.
    const double rx = p.x - (rv_wall[v] ? rv_centre.x : 0.0);
    const double ry = p.y;
    const double rho = std::sqrt(rx * rx + ry * ry);
    const Vec3 circ = rho > 1e-9 ? Vec3{-ry / rho, rx / rho, 0.0} : Vec3{0.0, 1.0, 0.0};
    const double alpha = alpha_endo + (alpha_epi - alpha_endo) * frac[v];
    anatomy.fibre[m] = {std::cos(alpha) * circ.x, std::cos(alpha) * circ.y,
                        std::sin(alpha)};
  }
  return anatomy;
}

AtrialAnatomy build_atria(const PatientParameters& params) {
  const double r_ra = params[Param::ra_radius_mm];
  const double r_la = params[Param::la_radius_mm];
  const double w = params[Param::atrial_wall_mm];
  // At least two voxels across the thin atrial wall keep the shell connected.
  const double h = std::min(params[Param::grid_spacing_mm], 0.5 * w);
  const Vec3 ra{-18.0, -6.0, 0.75 * r_ra + 4.0};
  const Vec3 la{14.0, -6.0, 0.75 * r_la + 4.0};
  const double floor_z = 3.0;  // valve plane: atria and ventricles do not touch
  const double reach = std::max(r_ra, r_la) + w;
  const VoxelBox box({ra.x - r_ra - w, -6.0 - reach, floor_z},
                     {la.x + r_la + w, -6.0 + reach, std::max(ra.z, la.z) + reach}, h);
  check_memory(box);

  std::vector<std::uint8_t> tissue(box.count(), 0);
  for (int k = 0; k < box.nz; ++k) {
    for (int j = 0; j < box.ny; ++j) {
      for (int i = 0; i < box.nx; ++i) {
        const Vec3 p = box.centre(i, j, k);
        if (p.z < floor_z) continue;
        const double d_ra = dot(p - ra, p - ra);
        const double d_la = dot(p - la, p - la);
        const bool in_shell =
            d_ra <= (r_ra + w) * (r_ra + w) || d_la <= (r_la + w) * (r_la + w);
        const bool in_cavity = d_ra < r_ra * r_ra || d_la < r_la * r_la;
        if (in_shell && !in_cavity) tissue[box.index(i, j, k)] = 1;
      }
    }
  }
  AtrialAnatomy anatomy;
  std::vector<int> node_of_voxel;
  anatomy.grid = make_grid(box, tissue, node_of_voxel);

  // Bachmann's bundle: an anterior-superior band across the interatrial groove.
  const Vec3 middle = 0.5 * (ra + la);
  const Vec3 band_direction = normalized({0.0, 0.55, 0.75});
  const double cos_half_width = std::cos(25.0 * kDeg);
  anatomy.bachmann.assign(anatomy.grid.size(), 0);
  for (std::size_t m = 0; m < anatomy.grid.size(); ++m) {
    const Vec3 d = anatomy.grid.position[m] - middle;
    const double across = std::sqrt(d.y * d.y + d.z * d.z);
    if (std::fabs(d.x) > 16.0 || across <= 0.0) continue;
    const double cos_angle = (d.y * band_direction.y + d.z * band_direction.z) / across;
    if (cos_angle >= cos_half_width) anatomy.bachmann[m] = 1;
  }
  anatomy.sinus_node =
      nearest_node(anatomy.grid, ra + (r_ra + w) * normalized({-0.5, 0.2, 0.85}));
  anatomy.av_node = nearest_node(
      anatomy.grid, ra + (r_ra + 0.5 * w) * normalized({0.55, -0.2, -0.81}));
  return anatomy;
}

HeartPose heart_pose(const PatientParameters& params) {
  const double phi = params[Param::heart_axis_frontal_deg] * kDeg;
  const double psi = params[Param::heart_axis_tilt_deg] * kDeg;
  const double spin = params[Param::heart_rotation_deg] * kDeg;
  const Vec3 apex{std::cos(phi) * std::cos(psi), std::sin(psi),
                  -std::sin(phi) * std::cos(psi)};
  const Vec3 z_axis = -1.0 * apex;
  const Vec3 reference = normalized({1.0, -1.0, 0.0});
  const Vec3 x0 = normalized(reference - dot(reference, z_axis) * z_axis);
  const Vec3 x_axis = std::cos(spin) * x0 + std::sin(spin) * cross(z_axis, x0);
  return {x_axis, cross(z_axis, x_axis), z_axis};
}

std::array<Vec3, kElectrodeCount> electrode_sites(const PatientParameters& params,
                                                  unsigned long long seed) {
  const double a = params[Param::torso_half_width_mm];
  const double b = params[Param::torso_half_depth_mm];
  const double cx = -30.0;
  const double cy = -40.0;
  // Angle around the torso from the sternum towards the patient's left, height.
  const double sites[kElectrodeCount][2] = {
      {-1.2, 170.0}, {1.2, 170.0}, {0.5, -230.0},   // RA, LA, LL
      {-0.14, 15.0}, {0.14, 15.0}, {0.40, 0.0},     // V1, V2, V3
      {0.65, -25.0}, {1.0, -25.0}, {1.35, -25.0}};  // V4, V5, V6
  RandomStream rng(seed, Stream::electrodes);
  const double jitter = params[Param::electrode_jitter_mm];
  std::array<Vec3, kElectrodeCount> out;
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    const double angle = sites[e][0];
    Vec3 p{cx + a * std::sin(angle), cy + b * std::cos(angle), sites[e][1]};
    p.x += jitter * rng.normal();
    p.y += jitter * rng.normal();
    p.z += jitter * rng.normal();
    out[e] = p;
  }
  return out;
}

int nearest_node(const TissueGrid& grid, Vec3 point) {
  int best = -1;
  double best_d2 = std::numeric_limits<double>::infinity();
  for (std::size_t m = 0; m < grid.size(); ++m) {
    const Vec3 d = grid.position[m] - point;
    const double d2 = dot(d, d);
    if (d2 < best_d2) {
      best_d2 = d2;
      best = static_cast<int>(m);
    }
  }
  return best;
}

}  // namespace cardiofair
