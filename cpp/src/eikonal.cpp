#include "cardiofair/eikonal.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>

namespace cardiofair {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Solves sum_ij B_ij (T - t_i)(T - t_j) = h^2 for the larger root and checks
// that it is upwind: T above every t_i and the characteristic B a pointing into
// the node (a_i = (T - t_i) / h).
double solve_face(int n, const double b[3][3], const double t[3], double h) {
  double quad = 0.0;
  double lin = 0.0;
  double cst = -h * h;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      quad += b[i][j];
      lin += b[i][j] * t[j];
      cst += b[i][j] * t[i] * t[j];
    }
  }
  const double disc = lin * lin - quad * cst;
  if (quad <= 0.0 || disc < 0.0) return kInf;
  const double time = (lin + std::sqrt(disc)) / quad;
  double a[3];
  for (int i = 0; i < n; ++i) {
    if (time < t[i]) return kInf;
    a[i] = (time - t[i]) / h;
  }
  for (int i = 0; i < n; ++i) {
    double flow = 0.0;
    for (int j = 0; j < n; ++j) flow += b[i][j] * a[j];
    if (flow < -1e-12) return kInf;
  }
  return time;
}

}  // namespace

namespace {

// D = M^-1 and M for one node, each as a full 3x3 matrix.
struct NodeTensor {
  double dinv[3][3];
  double metric[3][3];
};

NodeTensor tensor_of(const ConductionField& conduction, std::size_t m) {
  const Vec3 f = conduction.fibre[m];
  const double fv[3] = {f.x, f.y, f.z};
  const double vf2 = conduction.v_fibre[m] * conduction.v_fibre[m];
  const double vt2 = conduction.v_transverse[m] * conduction.v_transverse[m];
  NodeTensor t;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double eye = i == j ? 1.0 : 0.0;
      t.dinv[i][j] = fv[i] * fv[j] * (1.0 / vf2 - 1.0 / vt2) + eye / vt2;
      t.metric[i][j] = fv[i] * fv[j] * (vf2 - vt2) + eye * vt2;
    }
  }
  return t;
}

double local_update(const TissueGrid& grid, const NodeTensor& tensor,
                    const std::vector<double>& times, std::size_t m) {
  const int* nb = &grid.neighbours[m * 6];
  const double h = grid.spacing_mm;

  // Upwind neighbour per axis: the earlier of the two.
  int axes[3];
  double t_axis[3];
  double sign[3];
  int n_axes = 0;
  for (int axis = 0; axis < 3; ++axis) {
    const int lo = nb[2 * axis];
    const int hi = nb[2 * axis + 1];
    const double t_lo = lo >= 0 ? times[static_cast<std::size_t>(lo)] : kInf;
    const double t_hi = hi >= 0 ? times[static_cast<std::size_t>(hi)] : kInf;
    if (t_lo == kInf && t_hi == kInf) continue;
    axes[n_axes] = axis;
    t_axis[n_axes] = t_lo <= t_hi ? t_lo : t_hi;
    sign[n_axes] = t_lo <= t_hi ? 1.0 : -1.0;
    ++n_axes;
  }
  if (n_axes == 0) return kInf;

  // Each face of the upwind octant; a face's effective metric is the inverse
  // of D's block on its axes (the other gradient components are optimal).
  const auto& dinv = tensor.dinv;
  double best = kInf;
  for (int mask = 1; mask < (1 << n_axes); ++mask) {
    int pick[3];
    int n = 0;
    for (int s = 0; s < n_axes; ++s) {
      if (mask & (1 << s)) pick[n++] = s;
    }
    double b[3][3] = {};
    double t[3];
    for (int i = 0; i < n; ++i) t[i] = t_axis[pick[i]];
    if (n == 1) {
      b[0][0] = 1.0 / dinv[axes[pick[0]]][axes[pick[0]]];
    } else if (n == 2) {
      const int p = axes[pick[0]];
      const int q = axes[pick[1]];
      const double det = dinv[p][p] * dinv[q][q] - dinv[p][q] * dinv[p][q];
      b[0][0] = dinv[q][q] / det;
      b[1][1] = dinv[p][p] / det;
      b[0][1] = b[1][0] = -dinv[p][q] / det * sign[pick[0]] * sign[pick[1]];
    } else {
      for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
          b[i][j] = tensor.metric[axes[i]][axes[j]] * sign[i] * sign[j];
        }
      }
    }
    const double candidate = solve_face(n, b, t, h);
    if (candidate < best) best = candidate;
  }
  return best;
}

}  // namespace

double eikonal_local_update(const TissueGrid& grid, const ConductionField& conduction,
                            const std::vector<double>& times, int node) {
  const auto m = static_cast<std::size_t>(node);
  return local_update(grid, tensor_of(conduction, m), times, m);
}

std::vector<double> solve_eikonal(const TissueGrid& grid,
                                  const ConductionField& conduction,
                                  const std::vector<ActivationSource>& sources) {
  const std::size_t n = grid.size();
  if (conduction.fibre.size() != n || conduction.v_fibre.size() != n ||
      conduction.v_transverse.size() != n) {
    throw std::invalid_argument("conduction field must have one entry per node");
  }
  std::vector<NodeTensor> tensors(n);
  for (std::size_t m = 0; m < n; ++m) tensors[m] = tensor_of(conduction, m);
  std::vector<double> times(n, kInf);
  std::vector<unsigned char> fixed(n, 0);
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (const ActivationSource& source : sources) {
    if (source.node < 0 || static_cast<std::size_t>(source.node) >= n) {
      throw std::invalid_argument("activation source outside the grid");
    }
    const auto m = static_cast<std::size_t>(source.node);
    if (source.time_ms < times[m]) times[m] = source.time_ms;
    fixed[m] = 1;
  }
  for (const ActivationSource& source : sources) {
    heap.push({times[static_cast<std::size_t>(source.node)], source.node});
  }
  while (!heap.empty()) {
    const auto [time, node] = heap.top();
    heap.pop();
    if (time > times[static_cast<std::size_t>(node)]) continue;  // stale entry
    const int* nb = &grid.neighbours[static_cast<std::size_t>(node) * 6];
    for (int d = 0; d < 6; ++d) {
      const int other = nb[d];
      if (other < 0 || fixed[static_cast<std::size_t>(other)]) continue;
      // An update through this node can never go below its own time.
      if (times[static_cast<std::size_t>(other)] <= time) continue;
      const auto o = static_cast<std::size_t>(other);
      const double update = local_update(grid, tensors[o], times, o);
      // Re-open a node whenever it improves: anisotropy breaks strict causality.
      if (update < times[static_cast<std::size_t>(other)] - 1e-9) {
        times[static_cast<std::size_t>(other)] = update;
        heap.push({update, other});
      }
    }
  }
  return times;
}

}  // namespace cardiofair
