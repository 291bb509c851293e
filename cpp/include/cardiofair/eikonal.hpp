#pragma once
// Anisotropic eikonal activation: sqrt(grad T . M grad T) = 1 with
// M = v_f^2 f f^T + v_t^2 (I - f f^T). The local update is the exact
// (Hopf-Lax) solution on the vertices of the upwind octant (axis, face- and
// body-diagonal neighbours) and on the Freudenthal tetrahedron of that octant
// holding the characteristic estimated from the axis differences (its
// triangle, or its edges when the triangle's solution is not upwind), so
// oblique fibres are resolved. Nodes are ordered by a heap; a node is
// recomputed from all its vertices when it leaves the heap and re-queued if
// that improves it, then updates its 6 axis neighbours, until none improves.
// An update whose inputs (octant and vertex times) are those of the node's
// previous update is skipped: it would give the same time again.

#include <utility>
#include <vector>

#include "cardiofair/geometry.hpp"

namespace cardiofair {

struct ConductionField {
  std::vector<Vec3> fibre;           // unit fibre direction per node
  std::vector<double> v_fibre;       // mm/ms (= m/s) along the fibre
  std::vector<double> v_transverse;  // mm/ms across the fibre
};

// A node activated at a fixed time (ms).
struct ActivationSource {
  int node;
  double time_ms;
};

// Activation time per node (ms); +inf where no source reaches.
std::vector<double> solve_eikonal(const TissueGrid& grid,
                                  const ConductionField& conduction,
                                  const std::vector<ActivationSource>& sources);

// The local update of one node from its neighbours' current times; exposed for
// tests. Returns +inf when no neighbour is activated.
double eikonal_local_update(const TissueGrid& grid, const ConductionField& conduction,
                            const std::vector<double>& times, int node);

}  // namespace cardiofair
