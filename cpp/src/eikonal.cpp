#include "cardiofair/eikonal.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <stdexcept>
#include <utility>

namespace cardiofair {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Solves sum_ij B_ij (T - t_i)(T - t_j) = 1 for the larger root, where
// B = (E D E^T)^-1 and the rows of E are the edges from the face's vertices to
// the node. The root is accepted only if it is upwind: T above every t_i and
// the characteristic M g = E^T B (T - t) a non-negative combination of edges.
double solve_face(int n, const double b[3][3], const double t[3]) {
  double quad = 0.0;
  double lin = 0.0;
  double cst = -1.0;
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
    a[i] = time - t[i];
  }
  for (int i = 0; i < n; ++i) {
    double flow = 0.0;
    for (int j = 0; j < n; ++j) flow += b[i][j] * a[j];
    if (flow < -1e-12) return kInf;
  }
  return time;
}

// D = M^-1 for one node.
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

int step(const TissueGrid& grid, int node, int direction) {
  return node < 0 ? -1
                  : grid.neighbours[static_cast<std::size_t>(node) * 6 +
                                    static_cast<std::size_t>(direction)];
}

// The 26-neighbourhood: slot (dx + 1) + 3 (dy + 1) + 9 (dz + 1) holds the node
// at that offset when a path of axis steps through tissue reaches it (axes
// tried in the order x, y, z, then every other order), else -1.
constexpr int kPermutations[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

std::vector<int> neighbourhood(const TissueGrid& grid) {
  std::vector<int> table(grid.size() * 27, -1);
  for (std::size_t n = 0; n < grid.size(); ++n) {
    for (int slot = 0; slot < 27; ++slot) {
      if (slot == 13) continue;
      const int offset[3] = {slot % 3 - 1, (slot / 3) % 3 - 1, slot / 9 - 1};
      for (const auto& order : kPermutations) {
        int node = static_cast<int>(n);
        for (int axis : order) {
          if (offset[axis] != 0) node = step(grid, node, 2 * axis + (offset[axis] > 0));
        }
        if (node >= 0) {
          table[n * 27 + static_cast<std::size_t>(slot)] = node;
          break;
        }
      }
    }
  }
  return table;
}

double local_update(const TissueGrid& grid, const std::vector<int>& table,
                    const NodeTensor& tensor, const std::vector<double>& times,
                    std::size_t m) {
  const int* around = &table[m * 27];
  const double h = grid.spacing_mm;
  const auto time_of = [&](int node) {
    return node >= 0 ? times[static_cast<std::size_t>(node)] : kInf;
  };
  constexpr int kAxisSlot[3] = {1, 3, 9};

  // Upwind octant: towards the earlier neighbour on each axis.
  int offset[3];
  double sign[3];
  bool any = false;
  for (int axis = 0; axis < 3; ++axis) {
    const double t_lo = time_of(around[13 - kAxisSlot[axis]]);
    const double t_hi = time_of(around[13 + kAxisSlot[axis]]);
    offset[axis] = t_lo <= t_hi ? -1 : 1;
    sign[axis] = static_cast<double>(offset[axis]);
    any = any || t_lo != kInf || t_hi != kInf;
  }
  if (!any) return kInf;

  double t_vertex[8];
  t_vertex[0] = kInf;
  for (int mask = 1; mask < 8; ++mask) {
    int slot = 13;
    for (int axis = 0; axis < 3; ++axis) {
      if (mask & (1 << axis)) slot += offset[axis] * kAxisSlot[axis];
    }
    t_vertex[mask] = time_of(around[slot]);
  }

  // rows[u][c] = sum over axes a in u of s_a s_c D_ac h^2, so that
  // e_u^T D e_v = sum over axes c in v of rows[u][c] (e: vertex-to-node edge).
  const auto& d = tensor.dinv;
  double rows[8][3];
  for (int a = 0; a < 3; ++a) {
    for (int c = 0; c < 3; ++c) rows[1 << a][c] = sign[a] * sign[c] * d[a][c] * h * h;
  }
  for (int c = 0; c < 3; ++c) {
    rows[3][c] = rows[1][c] + rows[2][c];
    rows[5][c] = rows[1][c] + rows[4][c];
    rows[6][c] = rows[2][c] + rows[4][c];
    rows[7][c] = rows[3][c] + rows[4][c];
  }
  const auto gram = [&](int u, int v) {
    double sum = 0.0;
    for (int c = 0; c < 3; ++c) {
      if (v & (1 << c)) sum += rows[u][c];
    }
    return sum;
  };

  double best = kInf;
  for (int v = 1; v < 8; ++v) {
    if (t_vertex[v] == kInf) continue;
    const double candidate = t_vertex[v] + std::sqrt(gram(v, v));
    if (candidate < best) best = candidate;
  }

  // The tetrahedron holding the characteristic estimated from the axis
  // differences: axes ordered by the upwind component of M g.
  double g[3];
  for (int a = 0; a < 3; ++a) {
    g[a] = t_vertex[1 << a] == kInf ? 0.0 : -sign[a] * (best - t_vertex[1 << a]) / h;
  }
  double w[3];
  for (int a = 0; a < 3; ++a) {
    w[a] = -sign[a] * (tensor.metric[a][0] * g[0] + tensor.metric[a][1] * g[1] +
                       tensor.metric[a][2] * g[2]);
  }
  int order[3] = {0, 1, 2};
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2 - i; ++j) {
      if (w[order[j]] < w[order[j + 1]]) std::swap(order[j], order[j + 1]);
    }
  }
  const int chain[3] = {1 << order[0], (1 << order[0]) | (1 << order[1]), 7};

  bool triangle_done = false;
  if (t_vertex[chain[0]] != kInf && t_vertex[chain[1]] != kInf &&
      t_vertex[chain[2]] != kInf) {
    double q[3][3];
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) q[i][j] = gram(chain[i], chain[j]);
    }
    const double c00 = q[1][1] * q[2][2] - q[1][2] * q[2][1];
    const double c01 = q[1][2] * q[2][0] - q[1][0] * q[2][2];
    const double c02 = q[1][0] * q[2][1] - q[1][1] * q[2][0];
    const double det = q[0][0] * c00 + q[0][1] * c01 + q[0][2] * c02;
    const double b[3][3] = {{c00 / det, (q[0][2] * q[2][1] - q[0][1] * q[2][2]) / det,
                             (q[0][1] * q[1][2] - q[0][2] * q[1][1]) / det},
                            {c01 / det, (q[0][0] * q[2][2] - q[0][2] * q[2][0]) / det,
                             (q[0][2] * q[1][0] - q[0][0] * q[1][2]) / det},
                            {c02 / det, (q[0][1] * q[2][0] - q[0][0] * q[2][1]) / det,
                             (q[0][0] * q[1][1] - q[0][1] * q[1][0]) / det}};
    const double t[3] = {t_vertex[chain[0]], t_vertex[chain[1]], t_vertex[chain[2]]};
    const double candidate = solve_face(3, b, t);
    if (candidate < best) best = candidate;
    triangle_done = candidate != kInf;
  }
  if (!triangle_done) {
    // The minimum lies on the tetrahedron's edges (or vertices, done above).
    const int edges[3][2] = {
        {chain[0], chain[1]}, {chain[0], chain[2]}, {chain[1], chain[2]}};
    for (const auto& edge : edges) {
      const int u = edge[0];
      const int v = edge[1];
      if (t_vertex[u] == kInf || t_vertex[v] == kInf) continue;
      const double guu = gram(u, u), gvv = gram(v, v), guv = gram(u, v);
      const double det = guu * gvv - guv * guv;
      const double b[3][3] = {
          {gvv / det, -guv / det, 0}, {-guv / det, guu / det, 0}, {}};
      const double t[3] = {t_vertex[u], t_vertex[v], 0.0};
      const double candidate = solve_face(2, b, t);
      if (candidate < best) best = candidate;
    }
  }
  return best;
}

}  // namespace

double eikonal_local_update(const TissueGrid& grid, const ConductionField& conduction,
                            const std::vector<double>& times, int node) {
  const auto m = static_cast<std::size_t>(node);
  return local_update(grid, neighbourhood(grid), tensor_of(conduction, m), times, m);
}

std::vector<double> solve_eikonal(const TissueGrid& grid,
                                  const ConductionField& conduction,
                                  const std::vector<ActivationSource>& sources) {
  const std::size_t n = grid.size();
  if (conduction.fibre.size() != n || conduction.v_fibre.size() != n ||
      conduction.v_transverse.size() != n) {
    throw std::invalid_argument("conduction field must have one entry per node");
  }
  const std::vector<int> table = neighbourhood(grid);
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
    const auto m = static_cast<std::size_t>(node);
    if (time > times[m]) continue;  // stale entry
    // Diagonal vertices do not notify: recompute from every vertex before
    // releasing the node, and queue it again if that improves it.
    if (!fixed[m]) {
      const double recomputed = local_update(grid, table, tensors[m], times, m);
      if (recomputed < times[m] - 1e-9) {
        times[m] = recomputed;
        heap.push({recomputed, node});
        continue;
      }
    }
    const int* nb = &grid.neighbours[m * 6];
    for (int d = 0; d < 6; ++d) {
      const int other = nb[d];
      if (other < 0) continue;
      const auto o = static_cast<std::size_t>(other);
      // An update through this node can never go below its own time.
      if (fixed[o] || times[o] <= time) continue;
      const double update = local_update(grid, table, tensors[o], times, o);
      // Re-open a node whenever it improves: anisotropy breaks strict causality.
      if (update < times[o] - 1e-9) {
        times[o] = update;
        heap.push({update, other});
      }
    }
  }
  return times;
}

}  // namespace cardiofair
