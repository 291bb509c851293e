#pragma once
// Anisotropic eikonal activation: sqrt(grad T . M grad T) = 1 with
// M = v_f^2 f f^T + v_t^2 (I - f f^T), solved on the 6-neighbour grid with a
// Godunov upwind update (one neighbour per axis) and the exact local solution on
// every face of the upwind octant, ordered by a heap that re-opens improved
// nodes until no node improves.

#include <utility>
#include <vector>

#include "cardiofair/geometry.hpp"

namespace cardiofair {

struct ConductionField {
  std::vector<Vec3> fibre;            // unit fibre direction per node
  std::vector<double> v_fibre;        // mm/ms (= m/s) along the fibre
  std::vector<double> v_transverse;   // mm/ms across the fibre
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
