#include "cardiofair/parameters.hpp"

#include <cmath>
#include <sstream>

namespace cardiofair {

namespace {

// Values are textbook ranges (see the engine notes); each default is a modelling
// assumption until fitted to a cohort.
const std::array<ParameterSpec, kParameterCount> kTable = {{
    {"grid_spacing_mm", "mm", 1.0, 0.4, 4.0, 0.0, false,
     "edge of the cubic voxels of the ventricular and atrial grids"},
    {"lv_radius_mm", "mm", 23.0, 14.0, 35.0, 1.5, false,
     "short-axis radius of the left-ventricular cavity"},
    {"lv_length_mm", "mm", 58.0, 40.0, 85.0, 3.0, false,
     "base-to-apex length of the left-ventricular cavity"},
    {"lv_wall_mm", "mm", 10.0, 5.0, 22.0, 0.7, false,
     "left-ventricular wall thickness"},
    {"rv_radius_mm", "mm", 26.0, 15.0, 40.0, 1.5, false,
     "size of the right-ventricular cavity (its crescent spans 1.2x this)"},
    {"rv_wall_mm", "mm", 3.5, 2.0, 8.0, 0.3, false,
     "right-ventricular free-wall thickness"},
    {"ra_radius_mm", "mm", 20.0, 12.0, 35.0, 1.2, false,
     "radius of the right-atrial cavity"},
    {"la_radius_mm", "mm", 19.0, 12.0, 40.0, 1.2, false,
     "radius of the left-atrial cavity"},
    {"atrial_wall_mm", "mm", 2.5, 1.5, 5.0, 0.2, false, "atrial wall thickness"},
    {"heart_axis_frontal_deg", "deg", 50.0, -10.0, 100.0, 8.0, false,
     "frontal-plane direction of the base-to-apex axis (0 = patient's left, "
     "90 = feet)"},
    {"heart_axis_tilt_deg", "deg", 25.0, -20.0, 60.0, 5.0, false,
     "anterior tilt of the apex out of the frontal plane"},
    {"heart_rotation_deg", "deg", 0.0, -60.0, 60.0, 8.0, false,
     "rotation about the long axis, counter-clockwise seen from the apex"},
    {"torso_half_width_mm", "mm", 160.0, 110.0, 250.0, 10.0, false,
     "lateral semi-axis of the elliptic torso"},
    {"torso_half_depth_mm", "mm", 110.0, 70.0, 180.0, 7.0, false,
     "antero-posterior semi-axis of the elliptic torso"},
    {"electrode_jitter_mm", "mm", 4.0, 0.0, 30.0, 0.0, false,
     "standard deviation of each electrode's displacement from its site"},
    {"cv_fibre_m_per_s", "m/s", 0.65, 0.2, 1.2, 0.04, false,
     "ventricular conduction velocity along fibres"},
    {"anisotropy_ratio", "1", 2.5, 1.0, 4.0, 0.15, false,
     "ratio of conduction velocity along fibres to across them"},
    {"fibre_angle_endo_deg", "deg", 60.0, 0.0, 90.0, 0.0, false,
     "fibre helix angle at the endocardium"},
    {"fibre_angle_epi_deg", "deg", -60.0, -90.0, 0.0, 0.0, false,
     "fibre helix angle at the epicardium"},
    {"cv_endocardium_m_per_s", "m/s", 1.05, 0.5, 4.0, 0.07, false,
     "isotropic velocity of the fast (Purkinje-like) endocardial layer"},
    {"endocardial_layer_mm", "mm", 1.5, 0.5, 5.0, 0.0, false,
     "thickness of the fast endocardial layer (at least one voxel)"},
    {"lv_anterior_delay_ms", "ms", 2.0, 0.0, 40.0, 1.0, false,
     "activation of the LV anterior site after the LV septal site"},
    {"lv_posterior_delay_ms", "ms", 4.0, 0.0, 40.0, 1.0, false,
     "activation of the LV posterior site after the LV septal site"},
    {"rv_delay_ms", "ms", 5.0, 0.0, 40.0, 1.5, false,
     "activation of the RV site after the LV septal site"},
    {"cv_atrial_m_per_s", "m/s", 0.9, 0.3, 1.6, 0.05, false,
     "isotropic conduction velocity of atrial myocardium"},
    {"cv_bachmann_m_per_s", "m/s", 1.8, 0.05, 3.0, 0.1, false,
     "conduction velocity in Bachmann's bundle"},
    {"av_delay_ms", "ms", 85.0, 30.0, 400.0, 9.0, false,
     "from the atrial wave reaching the AV node to the first ventricular "
     "activation"},
    {"apd_ms", "ms", 295.0, 180.0, 450.0, 8.0, false,
     "mean ventricular action-potential duration (APD90) at RR 1000 ms"},
    {"apd_transmural_ms", "ms", 20.0, 0.0, 80.0, 3.0, false,
     "APD at the endocardium minus APD at the epicardium"},
    // Apex-to-base dispersion of activation-recovery intervals in normal
    // human hearts, ~42 ms (Ramanathan et al. 2006, electrocardiographic
    // imaging of healthy adults).
    {"apd_apicobasal_ms", "ms", 42.0, -40.0, 80.0, 3.0, false,
     "APD at the base minus APD at the apex"},
    {"apd_rv_offset_ms", "ms", -10.0, -60.0, 60.0, 3.0, false,
     "APD of the right ventricle minus that of the left"},
    {"apd_rate_exponent", "1", 0.35, 0.0, 0.6, 0.03, false,
     "APD scales with (preceding RR / 1000 ms) to this power"},
    // With 300 ms atrial repolarisation (the Ta wave) ends about 320 ms after
    // the P wave at RR 1000 ms (measured on the default patient), as in complete
    // AV block, where the Ta wave can be seen: 323 +- 56 ms from P end to Ta end
    // (Holmqvist et al., Ann Noninvasive Electrocardiol 14:13, 2009). With
    // 200 ms it ended in the ST segment and, in leads without an S wave, read
    // as part of the QRS complex.
    {"atrial_apd_ms", "ms", 300.0, 100.0, 350.0, 8.0, false,
     "atrial action-potential duration (APD90) at RR 1000 ms"},
    {"repolarisation_smoothing_ms", "ms", 8.0, 0.0, 30.0, 0.0, false,
     "Gaussian width smoothing the repolarisation shape (electrotonic load)"},
    {"heart_rate_bpm", "1/min", 68.0, 30.0, 180.0, 7.0, false, "mean heart rate"},
    {"hrv_sd_ms", "ms", 20.0, 0.0, 150.0, 4.0, false,
     "standard deviation of random beat-to-beat RR variation"},
    {"rsa_amplitude_ms", "ms", 15.0, 0.0, 100.0, 0.0, false,
     "amplitude of the respiratory modulation of RR"},
    {"respiration_rate_hz", "Hz", 0.25, 0.1, 0.5, 0.0, false,
     "respiration frequency driving the RR modulation"},
    {"lbbb", "1", 0.0, 0.0, 1.0, 0.0, true, "complete left bundle-branch block"},
    {"rbbb", "1", 0.0, 0.0, 1.0, 0.0, true, "complete right bundle-branch block"},
    {"lafb", "1", 0.0, 0.0, 1.0, 0.0, true, "left anterior fascicular block"},
    {"infarct_territory", "1", 0.0, 0.0, 3.0, 0.0, true,
     "infarct: 0 none, 1 anterior (LAD), 2 inferior (RCA), 3 lateral (LCX)"},
    {"infarct_transmurality", "1", 1.0, 0.1, 1.0, 0.0, false,
     "fraction of the wall, from the endocardium, that is scar"},
    {"infarct_border_mm", "mm", 3.0, 0.0, 10.0, 0.0, false,
     "width of the border zone around the scar (half conduction velocity)"},
    {"atrial_fibrillation", "1", 0.0, 0.0, 1.0, 0.0, true,
     "atrial fibrillation instead of sinus rhythm"},
    {"af_rr_cv", "1", 0.22, 0.05, 0.5, 0.0, false,
     "coefficient of variation of RR in atrial fibrillation"},
    {"af_cycle_ms", "ms", 170.0, 100.0, 300.0, 0.0, false,
     "mean cycle length of the fibrillatory atrial waves"},
    {"pvc_every_n_beats", "1", 0.0, 0.0, 20.0, 0.0, true,
     "every n-th beat is a premature ventricular beat (0 = none)"},
    {"pvc_coupling", "1", 0.6, 0.35, 0.9, 0.0, false,
     "coupling interval of a premature beat as a fraction of RR"},
    {"pvc_site", "1", 0.0, 0.0, 1.0, 0.0, true,
     "ectopic site: 0 right-ventricular outflow, 1 left-ventricular free wall"},
    {"torso_gain", "1", 20.0, 1.0, 100.0, 1.5, false,
     "scale of all electrode potentials (conductivity ratio, torso effects)"},
    {"limb_lead_gain", "1", 10.0, 1.0, 30.0, 0.0, false,
     "extra scale of limb electrodes (stands in for the torso boundary)"},
    {"atrial_gain", "1", 0.5, 0.1, 2.0, 0.0, false,
     "scale of atrial sources (an infinite medium overestimates P waves)"},
    {"noise_baseline_mv", "mV", 0.0, 0.0, 2.0, 0.0, false,
     "amplitude of baseline wander"},
    {"noise_mains_mv", "mV", 0.0, 0.0, 1.0, 0.0, false,
     "amplitude of mains interference"},
    {"noise_muscle_mv", "mV", 0.0, 0.0, 1.0, 0.0, false,
     "standard deviation of white muscle noise"},
    {"mains_frequency_hz", "Hz", 50.0, 50.0, 60.0, 0.0, false, "mains frequency"},
}};

std::string format_value(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

const std::array<ParameterSpec, kParameterCount>& parameter_table() { return kTable; }

PatientParameters::PatientParameters() {
  for (std::size_t i = 0; i < kParameterCount; ++i) {
    values_[i] = kTable[i].default_value;
  }
}

void PatientParameters::set(const std::string& name, double value) {
  for (std::size_t i = 0; i < kParameterCount; ++i) {
    const ParameterSpec& spec = kTable[i];
    if (name != spec.name) continue;
    if (!std::isfinite(value) || value < spec.min_value || value > spec.max_value) {
      throw std::invalid_argument(
          name + " must be in [" + format_value(spec.min_value) + ", " +
          format_value(spec.max_value) + "], got " + format_value(value));
    }
    if (spec.integer && value != std::floor(value)) {
      throw std::invalid_argument(name + " must be a whole number, got " +
                                  format_value(value));
    }
    values_[i] = value;
    return;
  }
  throw std::invalid_argument("unknown parameter '" + name + "'");
}

PatientParameters parameters_from(const std::map<std::string, double>& overrides) {
  PatientParameters params;
  for (const auto& [name, value] : overrides) params.set(name, value);
  return params;
}

}  // namespace cardiofair
