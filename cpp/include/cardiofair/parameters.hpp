#pragma once
// The virtual patient: named parameters with units, documented ranges and the
// spread of the default prior. Every value is validated before any allocation.

#include <array>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cardiofair {

// Order matches parameter_table(); the table is the single source of names.
enum class Param : std::size_t {
  grid_spacing_mm,
  lv_radius_mm,
  lv_length_mm,
  lv_wall_mm,
  rv_radius_mm,
  rv_wall_mm,
  ra_radius_mm,
  la_radius_mm,
  atrial_wall_mm,
  heart_axis_frontal_deg,
  heart_axis_tilt_deg,
  heart_rotation_deg,
  torso_half_width_mm,
  torso_half_depth_mm,
  electrode_jitter_mm,
  cv_fibre_m_per_s,
  anisotropy_ratio,
  fibre_angle_endo_deg,
  fibre_angle_epi_deg,
  cv_endocardium_m_per_s,
  endocardial_layer_mm,
  lv_anterior_delay_ms,
  lv_posterior_delay_ms,
  rv_delay_ms,
  cv_atrial_m_per_s,
  cv_bachmann_m_per_s,
  av_delay_ms,
  apd_ms,
  apd_transmural_ms,
  apd_apicobasal_ms,
  apd_rv_offset_ms,
  apd_rate_exponent,
  atrial_apd_ms,
  repolarisation_smoothing_ms,
  heart_rate_bpm,
  hrv_sd_ms,
  rsa_amplitude_ms,
  respiration_rate_hz,
  lbbb,
  rbbb,
  lafb,
  infarct_territory,
  infarct_transmurality,
  infarct_border_mm,
  atrial_fibrillation,
  af_rr_cv,
  af_cycle_ms,
  pvc_every_n_beats,
  pvc_coupling,
  pvc_site,
  torso_gain,
  limb_lead_gain,
  atrial_gain,
  noise_baseline_mv,
  noise_mains_mv,
  noise_muscle_mv,
  mains_frequency_hz,
  count
};

constexpr std::size_t kParameterCount = static_cast<std::size_t>(Param::count);

struct ParameterSpec {
  const char* name;
  const char* unit;
  double default_value;
  double min_value;
  double max_value;
  double prior_sd;  // spread of the default (healthy) prior; 0 = fixed
  bool integer;
  const char* description;
};

const std::array<ParameterSpec, kParameterCount>& parameter_table();

// A validated set of parameter values, indexed by Param.
class PatientParameters {
 public:
  PatientParameters();  // every parameter at its default

  double operator[](Param p) const { return values_[static_cast<std::size_t>(p)]; }
  int as_int(Param p) const { return static_cast<int>((*this)[p]); }
  bool flag(Param p) const { return (*this)[p] >= 0.5; }

  // Raises std::invalid_argument naming the parameter, its range and the value.
  void set(const std::string& name, double value);

 private:
  std::array<double, kParameterCount> values_;
};

// Builds parameters from defaults plus overrides; unknown names are rejected.
PatientParameters parameters_from(const std::map<std::string, double>& overrides);

}  // namespace cardiofair
