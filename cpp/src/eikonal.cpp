#include "cardiofair/eikonal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

// What the local update needs of one node's conduction: the fibre and the
// scalars of D = M^-1 = a f f^T + b I and of M = c f f^T + d I.
struct NodeTensor {
  double fibre[3];
  double a, b;  // 1/vf^2 - 1/vt^2, 1/vt^2
  double c, d;  // vf^2 - vt^2, vt^2

  double dinv(int i, int j) const { return fibre[i] * fibre[j] * a + (i == j ? b : 0.0); }
  double metric(int i, int j) const {
    return fibre[i] * fibre[j] * c + (i == j ? d : 0.0);
  }
};

NodeTensor tensor_of(const ConductionField& conduction, std::size_t m) {
  const Vec3 f = conduction.fibre[m];
  const double vf2 = conduction.v_fibre[m] * conduction.v_fibre[m];
  const double vt2 = conduction.v_transverse[m] * conduction.v_transverse[m];
  return {{f.x, f.y, f.z}, 1.0 / vf2 - 1.0 / vt2, 1.0 / vt2, vf2 - vt2, vt2};
}

// The nodes laid out in a voxel box padded by one voxel on every side, so that
// the 26 neighbours of a node are fixed offsets from its voxel. Activation
// times live in this box during the solve: an update reads its neighbours'
// times directly instead of through a per-node table of 27 indices, which
// was the solver's main cost (cache misses).
// Everything an update reads of one node, in one cache line.
struct alignas(64) BoxNode {
  std::int32_t voxel;   // index in the box
  std::uint32_t reach;  // bit s: slot s reachable through tissue; bit 13: a source
  NodeTensor tensor;
};
static_assert(sizeof(BoxNode) == 64, "a node should fill one cache line");

constexpr std::uint32_t kSourceBit = std::uint32_t{1} << 13;

struct BoxLayout {
  std::vector<BoxNode> nodes;
  std::size_t n_voxels = 0;
  long offset[27] = {};  // slot (dx + 1) + 3 (dy + 1) + 9 (dz + 1) -> box offset
};

// A slot is reachable when a path of axis steps through tissue leads to its
// voxel (axes in any order): diagonal neighbours across a gap in the tissue
// are not neighbours. masks[slot] holds, per order of the axes, the slots a
// path passes through (the slot itself included) as bits.
struct SlotPaths {
  std::uint32_t masks[27][6] = {};
  int count[27] = {};
};

SlotPaths slot_paths() {
  constexpr int kPermutations[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                       {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  SlotPaths paths;
  for (int slot = 0; slot < 27; ++slot) {
    if (slot == 13) continue;
    const int d[3] = {slot % 3 - 1, (slot / 3) % 3 - 1, slot / 9 - 1};
    for (const auto& order : kPermutations) {
      int at[3] = {0, 0, 0};
      std::uint32_t mask = 0;
      for (int axis : order) {
        if (d[axis] == 0) continue;
        at[axis] = d[axis];
        mask |= std::uint32_t{1} << ((at[0] + 1) + 3 * (at[1] + 1) + 9 * (at[2] + 1));
      }
      bool seen = false;
      for (int k = 0; k < paths.count[slot]; ++k) seen = seen || paths.masks[slot][k] == mask;
      if (!seen) paths.masks[slot][paths.count[slot]++] = mask;
    }
  }
  return paths;
}

std::uint32_t reachable_slots(const std::vector<unsigned char>& tissue, long voxel,
                              const long (&offset)[27]) {
  static const SlotPaths paths = slot_paths();
  std::uint32_t present = 0;
  for (int row = 0; row < 9; ++row) {  // three voxels along x at a time
    const unsigned char* t = &tissue[static_cast<std::size_t>(voxel + offset[3 * row])];
    const auto bits3 = static_cast<std::uint32_t>(t[0] | (t[1] << 1) | (t[2] << 2));
    present |= bits3 << (3 * row);
  }
  constexpr std::uint32_t kAll = (std::uint32_t{1} << 27) - 1;
  constexpr std::uint32_t kCentre = std::uint32_t{1} << 13;
  if (present == kAll) return kAll & ~kCentre;  // inside the tissue
  std::uint32_t bits = 0;
  for (int slot = 0; slot < 27; ++slot) {
    if (slot == 13 || !((present >> slot) & 1U)) continue;
    for (int k = 0; k < paths.count[slot]; ++k) {
      const std::uint32_t mask = paths.masks[slot][k];
      if ((present & mask) == mask) {
        bits |= std::uint32_t{1} << slot;
        break;
      }
    }
  }
  return bits;
}

BoxLayout box_layout(const TissueGrid& grid, const ConductionField& conduction) {
  const std::size_t n = grid.size();
  const double h = grid.spacing_mm;
  std::vector<long> ijk(n * 3);
  long lo[3] = {0, 0, 0};
  long hi[3] = {0, 0, 0};
  const Vec3 first = n > 0 ? grid.position[0] : Vec3{};
  for (std::size_t m = 0; m < n; ++m) {
    const Vec3 r = grid.position[m] - first;
    const double p[3] = {r.x, r.y, r.z};
    for (int axis = 0; axis < 3; ++axis) {
      const double x = p[axis] / h;
      const auto i = static_cast<long>(std::floor(x + 0.5));
      if (std::abs(x - static_cast<double>(i)) > 1e-6) {
        throw std::invalid_argument("node positions must lie on the grid");
      }
      ijk[m * 3 + static_cast<std::size_t>(axis)] = i;
      lo[axis] = m == 0 ? i : std::min(lo[axis], i);
      hi[axis] = m == 0 ? i : std::max(hi[axis], i);
    }
  }
  const long nx = hi[0] - lo[0] + 3;
  const long ny = hi[1] - lo[1] + 3;
  const long nz = hi[2] - lo[2] + 3;
  if (static_cast<double>(nx) * static_cast<double>(ny) * static_cast<double>(nz) >
      2147483647.0) {
    throw std::invalid_argument("grid too large for the eikonal solver's voxel box");
  }
  BoxLayout layout;
  layout.n_voxels = n == 0 ? 0 : static_cast<std::size_t>(nx * ny * nz);
  for (int slot = 0; slot < 27; ++slot) {
    layout.offset[slot] =
        (slot % 3 - 1) + nx * ((slot / 3) % 3 - 1) + nx * ny * (slot / 9 - 1);
  }
  layout.nodes.resize(n);
  std::vector<unsigned char> tissue(layout.n_voxels, 0);
  for (std::size_t m = 0; m < n; ++m) {
    const long* c = &ijk[m * 3];
    const long v = (c[0] - lo[0] + 1) + nx * ((c[1] - lo[1] + 1) + ny * (c[2] - lo[2] + 1));
    if (tissue[static_cast<std::size_t>(v)]) {
      throw std::invalid_argument("two nodes share one grid position");
    }
    tissue[static_cast<std::size_t>(v)] = 1;
    layout.nodes[m].voxel = static_cast<std::int32_t>(v);
    layout.nodes[m].tensor = tensor_of(conduction, m);
  }
  // The solver trusts the 6-neighbourhood to be the grid's geometry.
  constexpr int kAxisSlot[6] = {12, 14, 10, 16, 4, 22};
  for (std::size_t m = 0; m < n; ++m) {
    for (int d = 0; d < 6; ++d) {
      const int other = grid.neighbours[m * 6 + static_cast<std::size_t>(d)];
      const long expected = layout.nodes[m].voxel + layout.offset[kAxisSlot[d]];
      const bool linked =
          other >= 0 && layout.nodes[static_cast<std::size_t>(other)].voxel == expected;
      if (linked != static_cast<bool>(tissue[static_cast<std::size_t>(expected)])) {
        throw std::invalid_argument("grid neighbours do not match node positions");
      }
    }
  }
  for (BoxNode& node : layout.nodes) {
    node.reach = reachable_slots(tissue, node.voxel, layout.offset);
  }
  return layout;
}

// The inputs of one local update: the upwind octant and its vertex times.
struct Stencil {
  double sign[3];
  double t_vertex[8];  // by vertex mask; +inf where there is no activated vertex
};

// Returns false when no neighbour is activated.
bool gather(const BoxLayout& layout, const BoxNode& node, const double* box_times,
            Stencil& stencil) {
  const std::uint32_t reach = node.reach;
  const double* centre = box_times + node.voxel;
  const auto time_of = [&](int slot) {
    return (reach >> slot) & 1U ? centre[layout.offset[slot]] : kInf;
  };
  constexpr int kAxisSlot[3] = {1, 3, 9};

  // Upwind octant: towards the earlier neighbour on each axis.
  int offset[3];
  bool any = false;
  for (int axis = 0; axis < 3; ++axis) {
    const double t_lo = time_of(13 - kAxisSlot[axis]);
    const double t_hi = time_of(13 + kAxisSlot[axis]);
    offset[axis] = t_lo <= t_hi ? -1 : 1;
    stencil.sign[axis] = static_cast<double>(offset[axis]);
    any = any || t_lo != kInf || t_hi != kInf;
  }
  if (!any) return false;

  stencil.t_vertex[0] = kInf;
  for (int mask = 1; mask < 8; ++mask) {
    int slot = 13;
    for (int axis = 0; axis < 3; ++axis) {
      if (mask & (1 << axis)) slot += offset[axis] * kAxisSlot[axis];
    }
    stencil.t_vertex[mask] = time_of(slot);
  }
  return true;
}

// A 64-bit fingerprint of a stencil: equal stencils give equal updates, so a
// node whose stencil has not changed since its last update is not solved again.
std::uint64_t fingerprint(const Stencil& stencil) {
  // Each step (xor, then multiply by an odd constant) is a bijection, so
  // stencils that differ in one value never share a fingerprint.
  constexpr std::uint64_t kOdd = 0x9E3779B97F4A7C15ULL;
  std::uint64_t hash = (stencil.sign[0] > 0.0 ? 1U : 0U) |
                       (stencil.sign[1] > 0.0 ? 2U : 0U) |
                       (stencil.sign[2] > 0.0 ? 4U : 0U);
  for (int mask = 1; mask < 8; ++mask) {
    std::uint64_t bits;
    std::memcpy(&bits, &stencil.t_vertex[mask], sizeof bits);
    hash = (hash ^ bits) * kOdd;
  }
  return hash | 1U;  // never 0, which marks a node not yet updated
}

double solve_stencil(const Stencil& stencil, const NodeTensor& tensor, double h) {
  const double* sign = stencil.sign;
  const double* t_vertex = stencil.t_vertex;

  // rows[u][c] = sum over axes a in u of s_a s_c D_ac h^2, so that
  // e_u^T D e_v = sum over axes c in v of rows[u][c] (e: vertex-to-node edge).
  double rows[8][3];
  for (int a = 0; a < 3; ++a) {
    for (int c = 0; c < 3; ++c) {
      rows[1 << a][c] = sign[a] * sign[c] * tensor.dinv(a, c) * h * h;
    }
  }
  for (int c = 0; c < 3; ++c) {
    rows[3][c] = rows[1][c] + rows[2][c];
    rows[5][c] = rows[1][c] + rows[4][c];
    rows[6][c] = rows[2][c] + rows[4][c];
    rows[7][c] = rows[3][c] + rows[4][c];
  }
  // gram(u, v) = e_u^T D e_v: the row sums over v's axes, summed in axis
  // order and tabulated once, without a branch per axis.
  double table[8][8];
  for (int u = 1; u < 8; ++u) {
    const double* r = rows[u];
    table[u][1] = r[0];
    table[u][2] = r[1];
    table[u][3] = r[0] + r[1];
    table[u][4] = r[2];
    table[u][5] = r[0] + r[2];
    table[u][6] = r[1] + r[2];
    table[u][7] = table[u][3] + r[2];
  }
  const auto gram = [&](int u, int v) { return table[u][v]; };

  double best = kInf;
  for (int v = 1; v < 8; ++v) {
    // No candidate from a vertex can come before the vertex itself.
    if (t_vertex[v] >= best) continue;
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
    w[a] = -sign[a] * (tensor.metric(a, 0) * g[0] + tensor.metric(a, 1) * g[1] +
                       tensor.metric(a, 2) * g[2]);
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

double local_update(const BoxLayout& layout, const BoxNode& node,
                    const double* box_times, double h) {
  Stencil stencil;
  if (!gather(layout, node, box_times, stencil)) return kInf;
  return solve_stencil(stencil, node.tensor, h);
}

// The local update, unless the node's stencil is the one it was last solved
// with (recorded in `seen`): then the result is known not to improve it.
double update_if_changed(const BoxLayout& layout, const BoxNode& node,
                         const double* box_times, double h, std::uint64_t& seen) {
  Stencil stencil;
  if (!gather(layout, node, box_times, stencil)) return kInf;
  const std::uint64_t print = fingerprint(stencil);
  if (print == seen) return kInf;
  seen = print;
  return solve_stencil(stencil, node.tensor, h);
}

}  // namespace

double eikonal_local_update(const TissueGrid& grid, const ConductionField& conduction,
                            const std::vector<double>& times, int node) {
  const BoxLayout layout = box_layout(grid, conduction);
  std::vector<double> box_times(layout.n_voxels, kInf);
  for (std::size_t m = 0; m < grid.size(); ++m) {
    box_times[static_cast<std::size_t>(layout.nodes[m].voxel)] = times[m];
  }
  return local_update(layout, layout.nodes[static_cast<std::size_t>(node)],
                      box_times.data(), grid.spacing_mm);
}

std::vector<double> solve_eikonal(const TissueGrid& grid,
                                  const ConductionField& conduction,
                                  const std::vector<ActivationSource>& sources) {
  const std::size_t n = grid.size();
  if (conduction.fibre.size() != n || conduction.v_fibre.size() != n ||
      conduction.v_transverse.size() != n) {
    throw std::invalid_argument("conduction field must have one entry per node");
  }
  for (const ActivationSource& source : sources) {
    if (source.node < 0 || static_cast<std::size_t>(source.node) >= n) {
      throw std::invalid_argument("activation source outside the grid");
    }
  }
  BoxLayout layout = box_layout(grid, conduction);
  const double h = grid.spacing_mm;
  std::vector<double> box_times(layout.n_voxels, kInf);
  double* times = box_times.data();
  // Why a node's last update gave what it gave; see update_if_changed.
  std::vector<std::uint64_t> seen(n, 0);
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (const ActivationSource& source : sources) {
    BoxNode& node = layout.nodes[static_cast<std::size_t>(source.node)];
    times[node.voxel] = std::min(times[node.voxel], source.time_ms);
    node.reach |= kSourceBit;
  }
  for (const ActivationSource& source : sources) {
    const BoxNode& node = layout.nodes[static_cast<std::size_t>(source.node)];
    heap.push({times[node.voxel], source.node});
  }
  while (!heap.empty()) {
    const auto [time, id] = heap.top();
    heap.pop();
    if (!heap.empty()) {
      // The next node to leave the queue is, more often than not, the one on
      // top now: start fetching what it will need while this one is handled.
      const auto following = static_cast<std::size_t>(heap.top().second);
      __builtin_prefetch(&grid.neighbours[following * 6]);
      __builtin_prefetch(&layout.nodes[following]);
    }
    const BoxNode& node = layout.nodes[static_cast<std::size_t>(id)];
    double& node_time = times[node.voxel];
    if (time > node_time) continue;  // stale entry
    const int* nb = &grid.neighbours[static_cast<std::size_t>(id) * 6];
    // The neighbours are updated next: start fetching them while this node is
    // recomputed (their nodes lie a row or a slice away, beyond the caches).
    for (int d = 0; d < 6; ++d) {
      if (nb[d] >= 0) __builtin_prefetch(&layout.nodes[static_cast<std::size_t>(nb[d])]);
    }
    // Diagonal vertices do not notify: recompute from every vertex before
    // releasing the node, and queue it again if that improves it.
    if (!(node.reach & kSourceBit)) {
      const double recomputed = update_if_changed(
          layout, node, times, h, seen[static_cast<std::size_t>(id)]);
      if (recomputed < node_time - 1e-9) {
        node_time = recomputed;
        heap.push({recomputed, id});
        continue;
      }
    }
    for (int d = 0; d < 6; ++d) {
      const int other = nb[d];
      if (other < 0) continue;
      const BoxNode& next = layout.nodes[static_cast<std::size_t>(other)];
      double& next_time = times[next.voxel];
      // An update through this node can never go below its own time.
      if ((next.reach & kSourceBit) || next_time <= time) continue;
      const double update = update_if_changed(layout, next, times, h,
                                              seen[static_cast<std::size_t>(other)]);
      // Re-open a node whenever it improves: anisotropy breaks strict causality.
      if (update < next_time - 1e-9) {
        next_time = update;
        heap.push({update, other});
      }
    }
  }
  std::vector<double> out(n);
  for (std::size_t m = 0; m < n; ++m) out[m] = times[layout.nodes[m].voxel];
  return out;
}

}  // namespace cardiofair
