#pragma once
// Parametric anatomy on a voxel grid: ventricles (two truncated ellipsoidal
// shells), atria (two spherical shells), the heart's orientation in an elliptic
// torso and the electrode sites. Coordinates are in mm; "heart coordinates"
// have the long axis as z (apex at negative z, base plane at z = 0), x pointing
// from the septum to the left-ventricular free wall.

#include <array>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "cardiofair/parameters.hpp"

namespace cardiofair {

struct Vec3 {
  double x = 0.0;
  double y = 0.0;
  double z = 0.0;
};

inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(double s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
Vec3 cross(Vec3 a, Vec3 b);
Vec3 normalized(Vec3 a);

// Raised before allocating a grid that would not fit in available memory.
class InsufficientMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InsufficientMemory if a grid of n_voxels (about 160 bytes each for
// labels, node index and per-node fields) needs more than 80 % of
// available_bytes; available_bytes <= 0 means unknown and passes.
void check_grid_memory(std::size_t n_voxels, double available_bytes);

// Physical memory not in use, in bytes (0 if the system cannot tell).
double available_memory_bytes();

// Tissue nodes of a regular grid with their 6-neighbourhood.
struct TissueGrid {
  double spacing_mm = 1.0;
  std::vector<Vec3> position;  // heart coordinates, mm
  // 6 entries per node (-x, +x, -y, +y, -z, +z); -1 where there is no tissue.
  std::vector<int> neighbours;
  std::size_t size() const { return position.size(); }
};

struct VentricularAnatomy {
  TissueGrid grid;
  std::vector<unsigned char> is_rv;           // 1 on the right-ventricular free wall
  std::vector<double> transmural;             // 0 endocardium .. 1 epicardium
  std::vector<double> apicobasal;             // 0 apex .. 1 base
  std::vector<double> circumferential_deg;    // 0 septum, 90 anterior, 180 lateral
  std::vector<Vec3> fibre;                    // unit fibre direction
  std::vector<unsigned char> lv_endocardium;  // fast layer lining the LV cavity
  std::vector<unsigned char> rv_endocardium;  // fast layer lining the RV cavity
  std::vector<unsigned char> border_zone;     // slow tissue around a scar
  std::size_t n_scar = 0;                     // voxels removed as scar
  double rv_centre_x_mm = 0.0;
};

struct AtrialAnatomy {
  TissueGrid grid;
  std::vector<unsigned char> bachmann;  // fast interatrial band
  int sinus_node = -1;
  int av_node = -1;
};

// Rotation from heart to body coordinates: columns are the heart axes written
// in body coordinates (x patient's left, y anterior, z head).
struct HeartPose {
  Vec3 x_axis;
  Vec3 y_axis;
  Vec3 z_axis;
  Vec3 to_body(Vec3 p) const;
};

constexpr std::size_t kElectrodeCount = 9;  // RA, LA, LL, V1..V6

VentricularAnatomy build_ventricles(const PatientParameters& params);
// The atrial grid is finer than grid_spacing_mm when needed to resolve the wall
// with two voxels.
AtrialAnatomy build_atria(const PatientParameters& params);
HeartPose heart_pose(const PatientParameters& params);
// Electrode sites in body coordinates, with seeded jitter.
std::array<Vec3, kElectrodeCount> electrode_sites(const PatientParameters& params,
                                                  unsigned long long seed);
// Index of the tissue node nearest to a point (lowest index on ties).
int nearest_node(const TissueGrid& grid, Vec3 point);

}  // namespace cardiofair
