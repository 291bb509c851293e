#include "cardiofair/simulation.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "cardiofair/ecg.hpp"
#include "cardiofair/rng.hpp"

namespace cardiofair {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLeadInMs = 2500.0;  // simulated before the record starts
constexpr double kLeadOutMs = 400.0;  // simulated after it ends
constexpr int kFibrillationMaps = 4;
constexpr std::uint64_t kWaveStream = 5;

// ---------------------------------------------------------------- ventricles

// A point on the LV endocardium at circumferential angle theta (0 septum,
// 90 anterior) and apico-basal height zeta (0 apex, 1 base).
Vec3 lv_endocardial_point(const PatientParameters& params, double theta_deg,
                          double zeta) {
  const double r = params[Param::lv_radius_mm];
  const double l = params[Param::lv_length_mm];
  const double outer_length = l + params[Param::lv_wall_mm];
  const double z = std::max(-(1.0 - zeta) * outer_length, -0.95 * l);
  const double radius = r * std::sqrt(1.0 - (z / l) * (z / l));
  return {-radius * std::cos(theta_deg * kDeg), radius * std::sin(theta_deg * kDeg), z};
}

bool lafb_region(const VentricularAnatomy& v, std::size_t n) {
  return v.circumferential_deg[n] >= 30.0 && v.circumferential_deg[n] <= 150.0 &&
         v.apicobasal[n] >= 0.45;
}

ConductionField ventricular_conduction(const PatientParameters& params,
                                       const VentricularAnatomy& v, bool ectopic) {
  const std::size_t n = v.grid.size();
  const double cv = params[Param::cv_fibre_m_per_s];
  const double cv_across = cv / params[Param::anisotropy_ratio];
  const double cv_fast = params[Param::cv_endocardium_m_per_s];
  const bool lbbb = params.flag(Param::lbbb);
  const bool rbbb = params.flag(Param::rbbb);
  const bool lafb = params.flag(Param::lafb);
  ConductionField field{v.fibre, std::vector<double>(n, cv),
                        std::vector<double>(n, cv_across)};
  for (std::size_t m = 0; m < n; ++m) {
    // The Purkinje-like layer thins out towards the base.
    bool fast = !ectopic && v.apicobasal[m] <= 0.9;
    const bool lv_fast = v.lv_endocardium[m] && !lbbb && !(lafb && lafb_region(v, m));
    const bool rv_fast = v.rv_endocardium[m] && !rbbb;
    fast = fast && (lv_fast || rv_fast);
    if (fast) {
      field.v_fibre[m] = cv_fast;
      field.v_transverse[m] = cv_fast;
    }
    if (v.border_zone[m]) {
      field.v_fibre[m] *= 0.5;
      field.v_transverse[m] *= 0.5;
    }
  }
  return field;
}

int checked_node(const TissueGrid& grid, Vec3 point, const char* what) {
  const int node = nearest_node(grid, point);
  if (node < 0) throw std::invalid_argument(std::string("no tissue for ") + what);
  return node;
}

std::vector<ActivationSource> root_sites(const PatientParameters& params,
                                         const VentricularAnatomy& v) {
  std::vector<ActivationSource> sources;
  const TissueGrid& grid = v.grid;
  if (!params.flag(Param::lbbb)) {
    sources.push_back({checked_node(grid, lv_endocardial_point(params, 0.0, 0.5),
                                    "the LV septal site"),
                       0.0});
    if (!params.flag(Param::lafb)) {
      sources.push_back({checked_node(grid, lv_endocardial_point(params, 75.0, 0.65),
                                      "the LV anterior site"),
                         params[Param::lv_anterior_delay_ms]});
    }
    sources.push_back({checked_node(grid, lv_endocardial_point(params, 285.0, 0.4),
                                    "the LV posterior site"),
                       params[Param::lv_posterior_delay_ms]});
  }
  if (!params.flag(Param::rbbb)) {
    const double a = 0.75 * params[Param::rv_radius_mm];
    const double b = 1.2 * params[Param::rv_radius_mm];
    const double c = 0.8 * params[Param::lv_length_mm];
    const Vec3 d = normalized({-0.7, 0.5, -0.45});
    const Vec3 point{v.rv_centre_x_mm + a * d.x, b * d.y, c * d.z};
    sources.push_back(
        {checked_node(grid, point, "the RV site"), params[Param::rv_delay_ms]});
  }
  if (sources.empty()) {
    // Both bundles blocked: an escape rhythm from the septal base.
    sources.push_back(
        {checked_node(grid, lv_endocardial_point(params, 0.0, 0.9), "the escape site"),
         0.0});
  }
  return sources;
}

ActivationSource ectopic_site(const PatientParameters& params,
                              const VentricularAnatomy& v) {
  const double outer = params[Param::lv_radius_mm] + params[Param::lv_wall_mm];
  const double length = params[Param::lv_length_mm] + params[Param::lv_wall_mm];
  Vec3 point;
  if (params.as_int(Param::pvc_site) == 0) {  // right-ventricular outflow
    point = {v.rv_centre_x_mm, 1.2 * params[Param::rv_radius_mm], -0.1 * length};
  } else {  // left-ventricular lateral free wall
    point = {0.92 * outer, 0.0, -0.4 * length};
  }
  return {checked_node(v.grid, point, "the ectopic site"), 0.0};
}

std::vector<double> ventricular_apd(const PatientParameters& params,
                                    const VentricularAnatomy& v) {
  std::vector<double> apd(v.grid.size());
  for (std::size_t m = 0; m < apd.size(); ++m) {
    double value = params[Param::apd_ms] +
                   params[Param::apd_transmural_ms] * (0.5 - v.transmural[m]) +
                   params[Param::apd_apicobasal_ms] * (v.apicobasal[m] - 0.5);
    if (v.is_rv[m]) value += params[Param::apd_rv_offset_ms];
    apd[m] = std::max(value, kVentricularPlateauLeadMs + 20.0);
  }
  return apd;
}

// ---------------------------------------------------------------- atria

ConductionField atrial_conduction(const PatientParameters& params,
                                  const AtrialAnatomy& a) {
  const std::size_t n = a.grid.size();
  ConductionField field{std::vector<Vec3>(n, Vec3{1.0, 0.0, 0.0}),
                        std::vector<double>(n, params[Param::cv_atrial_m_per_s]),
                        std::vector<double>(n, params[Param::cv_atrial_m_per_s])};
  for (std::size_t m = 0; m < n; ++m) {
    if (a.bachmann[m]) {
      field.v_fibre[m] = params[Param::cv_bachmann_m_per_s];
      field.v_transverse[m] = params[Param::cv_bachmann_m_per_s];
    }
  }
  return field;
}

// ---------------------------------------------------------------- rhythm

struct Extent {
  double first = kInf;
  double last = -kInf;
};

Extent extent_of(const std::vector<double>& times) {
  Extent out;
  for (double t : times) {
    if (t == kInf) continue;
    out.first = std::min(out.first, t);
    out.last = std::max(out.last, t);
  }
  return out;
}

struct Beat {
  double origin_ms;
  double rr_prev_ms;
  bool ectopic;
  double p_on_ms;  // NaN when the beat has no conducted P wave
  double p_off_ms;
};

struct Histograms {
  EventHistogram ventricular_up, ventricular_rep, atrial_up, atrial_rep;
};

// An atrial wave: with one APD for all atrial nodes, repolarisation is the
// same map shifted once more.
void add_atrial_wave(Histograms& hist, const ShiftedEvents& upstrokes, double apd_ms,
                     double origin_ms) {
  upstrokes.add_to(hist.atrial_up, origin_ms);
  upstrokes.add_to(hist.atrial_rep, origin_ms + apd_ms);
}

double rate_scale(const PatientParameters& params, double rr_ms) {
  return std::pow(rr_ms / 1000.0, params[Param::apd_rate_exponent]);
}

double clamp_rr(double rr, double rr_mean) {
  return std::clamp(rr, std::max(250.0, 0.4 * rr_mean), 2.5 * rr_mean);
}

// Sinus rhythm (or AF's irregular ventricular response) with premature beats;
// adds every atrial beat to the histograms and returns the ventricular beats.
std::vector<Beat> make_rhythm(const PatientParameters& params, const HeartModel& model,
                              const ShiftedEvents& atrial_map, Histograms& hist,
                              double end_ms, std::uint64_t seed) {
  RandomStream rng(seed, Stream::rhythm);
  const double rr_mean = 60000.0 / params[Param::heart_rate_bpm];
  const double resp_phase = 2.0 * kPi * rng.uniform();
  double t = -kLeadInMs + 300.0 + rng.uniform() * rr_mean;
  const bool af = params.flag(Param::atrial_fibrillation);
  const int pvc_every = params.as_int(Param::pvc_every_n_beats);
  const double av = model.av_node_arrival_ms + params[Param::av_delay_ms];
  const Extent atrial = extent_of(model.atrial_activation_ms);
  const double sigma = std::sqrt(std::log(1.0 + std::pow(params[Param::af_rr_cv], 2)));

  std::vector<Beat> beats;
  double prev_sinus = t - rr_mean;
  double prev_v = t + (af ? 0.0 : av) - rr_mean;
  for (int k = 0; t < end_ms; ++k) {
    double rr;
    if (af) {
      rr = rr_mean * std::exp(sigma * rng.normal() - 0.5 * sigma * sigma);
    } else {
      rr = rr_mean +
           params[Param::rsa_amplitude_ms] *
               std::sin(2.0 * kPi * params[Param::respiration_rate_hz] * t / 1000.0 +
                        resp_phase) +
           params[Param::hrv_sd_ms] * rng.normal();
    }
    rr = clamp_rr(rr, rr_mean);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Beat beat{af ? t : t + av, 0.0, false, nan, nan};
    if (!af) {
      const double scale = rate_scale(params, t - prev_sinus);
      add_atrial_wave(hist, atrial_map, params[Param::atrial_apd_ms] * scale, t);
      beat.p_on_ms = t + atrial.first;
      beat.p_off_ms = t + atrial.last;
    }
    if (pvc_every > 0 && k % pvc_every == pvc_every - 1) {
      // The sinus impulse meets a refractory AV node; the pause compensates.
      beat.origin_ms = prev_v + params[Param::pvc_coupling] * (beat.origin_ms - prev_v);
      beat.ectopic = true;
      beat.p_on_ms = nan;
      beat.p_off_ms = nan;
    }
    beat.rr_prev_ms = beat.origin_ms - prev_v;
    prev_v = beat.origin_ms;
    prev_sinus = t;
    beats.push_back(beat);
    t += rr;
  }
  return beats;
}

// Eikonal activation cannot represent re-entry: atrial fibrillation is
// approximated by focal waves from random atrial sites at irregular intervals.
void add_fibrillation(const PatientParameters& params, const HeartModel& model,
                      double step_ms, Histograms& hist, double end_ms,
                      std::uint64_t seed) {
  RandomStream rng(seed, static_cast<Stream>(kWaveStream));
  const double cycle = params[Param::af_cycle_ms];
  const double apd = std::max(kAtrialPlateauLeadMs + 20.0, 0.5 * cycle);
  std::vector<ShiftedEvents> maps;
  for (const std::vector<double>& map : model.fibrillation_activation_ms) {
    maps.emplace_back(model.atrial_weights, map, step_ms);
  }
  for (double c = -kLeadInMs + 50.0; c < end_ms;
       c += cycle * (0.75 + 0.5 * rng.uniform())) {
    const auto map = std::min(kFibrillationMaps - 1,
                              static_cast<int>(rng.uniform() * kFibrillationMaps));
    add_atrial_wave(hist, maps[static_cast<std::size_t>(map)], apd, c);
  }
}

int to_sample(double t_ms, double step_ms, std::size_t n_samples) {
  if (!std::isfinite(t_ms)) return -1;
  const double x = std::round(t_ms / step_ms);
  if (x < 0.0 || x > static_cast<double>(n_samples - 1)) return -1;
  return static_cast<int>(x);
}

void add_noise(const PatientParameters& params, std::vector<double>& phi,
               std::size_t first_bin, std::size_t n_samples, double step_ms,
               std::uint64_t seed) {
  const double baseline = params[Param::noise_baseline_mv];
  const double mains = params[Param::noise_mains_mv];
  const double muscle = params[Param::noise_muscle_mv];
  if (baseline == 0.0 && mains == 0.0 && muscle == 0.0) return;
  RandomStream rng(seed, Stream::noise);
  double wander_hz[kElectrodeCount], wander_phase[kElectrodeCount],
      mains_phase[kElectrodeCount];
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    wander_hz[e] = 0.1 + 0.3 * rng.uniform();
    wander_phase[e] = 2.0 * kPi * rng.uniform();
    mains_phase[e] = 2.0 * kPi * rng.uniform();
  }
  const double f_mains = params[Param::mains_frequency_hz];
  for (std::size_t k = 0; k < n_samples; ++k) {
    const double t_s = static_cast<double>(k) * step_ms / 1000.0;
    double* p = &phi[(first_bin + k) * kElectrodeCount];
    for (std::size_t e = 0; e < kElectrodeCount; ++e) {
      p[e] += baseline * std::sin(2.0 * kPi * wander_hz[e] * t_s + wander_phase[e]) +
              mains * std::sin(2.0 * kPi * f_mains * t_s + mains_phase[e]) +
              muscle * rng.normal();
    }
  }
}

}  // namespace

HeartModel build_heart(const PatientParameters& params, std::uint64_t seed) {
  HeartModel model;
  model.ventricles = build_ventricles(params);
  model.atria = build_atria(params);
  const VentricularAnatomy& v = model.ventricles;
  const AtrialAnatomy& a = model.atria;
  if (v.grid.size() == 0 || a.grid.size() == 0) {
    throw std::invalid_argument("the anatomy has no tissue at this grid spacing");
  }

  model.ventricular_activation_ms = solve_eikonal(
      v.grid, ventricular_conduction(params, v, false), root_sites(params, v));
  if (params.as_int(Param::pvc_every_n_beats) > 0) {
    model.ectopic_activation_ms = solve_eikonal(
        v.grid, ventricular_conduction(params, v, true), {ectopic_site(params, v)});
  }
  model.ventricular_apd_ms = ventricular_apd(params, v);

  const ConductionField atrial = atrial_conduction(params, a);
  model.atrial_activation_ms = solve_eikonal(a.grid, atrial, {{a.sinus_node, 0.0}});
  model.av_node_arrival_ms =
      model.atrial_activation_ms[static_cast<std::size_t>(a.av_node)];
  if (!std::isfinite(model.av_node_arrival_ms)) {
    throw std::invalid_argument(
        "the sinus impulse cannot reach the AV node: the atrial wall is not "
        "connected at this grid spacing");
  }
  if (params.flag(Param::atrial_fibrillation)) {
    RandomStream rng(seed, Stream::fibrillation);
    for (int k = 0; k < kFibrillationMaps; ++k) {
      const auto node = std::min(
          a.grid.size() - 1,
          static_cast<std::size_t>(rng.uniform() * static_cast<double>(a.grid.size())));
      model.fibrillation_activation_ms.push_back(
          solve_eikonal(a.grid, atrial, {{static_cast<int>(node), 0.0}}));
    }
  }

  const HeartPose pose = heart_pose(params);
  const auto sites = electrode_sites(params, seed);
  std::array<double, kElectrodeCount> gains;
  for (std::size_t e = 0; e < kElectrodeCount; ++e) {
    gains[e] =
        params[Param::torso_gain] * (e < 3 ? params[Param::limb_lead_gain] : 1.0);
  }
  model.ventricular_weights = electrode_weights(v.grid, pose, sites, gains);
  for (double& gain : gains) gain *= params[Param::atrial_gain];
  model.atrial_weights = electrode_weights(a.grid, pose, sites, gains);
  return model;
}

void check_recording(double duration_s, double fs) {
  if (!std::isfinite(duration_s) || duration_s <= 0.0 || duration_s > 600.0) {
    throw std::invalid_argument("duration_s must be in (0, 600], got " +
                                std::to_string(duration_s));
  }
  if (!std::isfinite(fs) || fs < 100.0 || fs > 5000.0) {
    throw std::invalid_argument("fs must be in [100, 5000] Hz, got " +
                                std::to_string(fs));
  }
}

SimulationResult simulate(const PatientParameters& params, double duration_s, double fs,
                          std::uint64_t seed) {
  check_recording(duration_s, fs);
  const HeartModel model = build_heart(params, seed);
  const double step = 1000.0 / fs;
  const auto n_samples = static_cast<std::size_t>(std::lround(duration_s * fs));
  const double duration_ms = static_cast<double>(n_samples) * step;
  const auto lead_in = static_cast<std::size_t>(std::ceil(kLeadInMs / step));
  const auto lead_out = static_cast<std::size_t>(std::ceil(kLeadOutMs / step));
  const std::size_t n_bins = lead_in + n_samples + lead_out;
  const double origin = -static_cast<double>(lead_in) * step;
  Histograms hist{
      EventHistogram(n_bins, origin, step), EventHistogram(n_bins, origin, step),
      EventHistogram(n_bins, origin, step), EventHistogram(n_bins, origin, step)};

  const double end_ms = duration_ms + kLeadOutMs;
  const ShiftedEvents atrial_map(model.atrial_weights, model.atrial_activation_ms, step);
  const std::vector<Beat> beats =
      make_rhythm(params, model, atrial_map, hist, end_ms, seed);
  if (params.flag(Param::atrial_fibrillation)) {
    add_fibrillation(params, model, step, hist, end_ms, seed);
  }
  const ShiftedEvents sinus_map(model.ventricular_weights,
                                model.ventricular_activation_ms, step);
  const ShiftedEvents ectopic_map =
      model.ectopic_activation_ms.empty()
          ? ShiftedEvents({}, {}, step)
          : ShiftedEvents(model.ventricular_weights, model.ectopic_activation_ms, step);

  SimulationResult result;
  result.n_samples = n_samples;
  result.n_ventricular_nodes = model.ventricles.grid.size();
  result.n_atrial_nodes = model.atria.grid.size();
  const Extent sinus_qrs = extent_of(model.ventricular_activation_ms);
  const Extent ectopic_qrs = extent_of(model.ectopic_activation_ms);
  // A ventricular beat: upstrokes are the map shifted to the beat's origin;
  // repolarisation times carry each node's own APD, scaled by the rate, and
  // are added for all beats of one map at once. t_end[i] is the last
  // repolarisation time of beat i after its origin (the end of T).
  std::vector<double> t_end(beats.size());
  for (const bool ectopic : {false, true}) {
    std::vector<std::size_t> index;
    std::vector<double> scales, origins;
    for (std::size_t i = 0; i < beats.size(); ++i) {
      if (beats[i].ectopic != ectopic) continue;
      (ectopic ? ectopic_map : sinus_map).add_to(hist.ventricular_up, beats[i].origin_ms);
      index.push_back(i);
      scales.push_back(rate_scale(params, beats[i].rr_prev_ms));
      origins.push_back(beats[i].origin_ms);
    }
    if (index.empty()) continue;
    const std::vector<double> last = hist.ventricular_rep.add_repolarisation(
        model.ventricular_weights,
        ectopic ? model.ectopic_activation_ms : model.ventricular_activation_ms,
        model.ventricular_apd_ms, scales, origins);
    for (std::size_t k = 0; k < index.size(); ++k) t_end[index[k]] = last[k];
  }
  for (std::size_t i = 0; i < beats.size(); ++i) {
    const Beat& beat = beats[i];
    const Extent qrs = beat.ectopic ? ectopic_qrs : sinus_qrs;
    const double qrs_on = beat.origin_ms + qrs.first;
    if (qrs_on < 0.0 || qrs_on >= duration_ms) continue;
    const double times[fiducial_count] = {beat.p_on_ms, beat.p_off_ms, qrs_on,
                                          beat.origin_ms + qrs.last,
                                          beat.origin_ms + t_end[i]};
    for (double time : times)
      result.fiducials.push_back(to_sample(time, step, n_samples));
    result.beat_type.push_back(beat.ectopic ? 1 : 0);
    result.rr_ms.push_back(beat.rr_prev_ms);
  }

  const double smoothing = params[Param::repolarisation_smoothing_ms];
  const ApShapes ventricular =
      make_ap_shapes(step, smoothing, kVentricularPlateauLeadMs);
  const ApShapes atrial_shapes = make_ap_shapes(
      step, std::max(smoothing, kAtrialRepolarisationSpreadMs), kAtrialPlateauLeadMs);
  std::vector<double> phi = hist.ventricular_up.convolve(ventricular.upstroke);
  const std::vector<double> parts[3] = {
      hist.ventricular_rep.convolve(ventricular.repolarisation),
      hist.atrial_up.convolve(atrial_shapes.upstroke),
      hist.atrial_rep.convolve(atrial_shapes.repolarisation)};
  for (std::size_t i = 0; i < phi.size(); ++i) {
    phi[i] += -parts[0][i] + parts[1][i] - parts[2][i];
  }
  add_noise(params, phi, lead_in, n_samples, step, seed);

  result.signals.resize(n_samples * 12);
  for (std::size_t k = 0; k < n_samples; ++k) {
    const auto leads = standard_leads(&phi[(lead_in + k) * kElectrodeCount]);
    std::copy(leads.begin(), leads.end(),
              result.signals.begin() + static_cast<long>(k * 12));
  }
  return result;
}

std::vector<SimulationResult> simulate_batch(
    const std::vector<PatientParameters>& patients,
    const std::vector<std::uint64_t>& seeds, double duration_s, double fs,
    int n_threads) {
  if (seeds.size() != patients.size()) {
    throw std::invalid_argument("seeds must have one entry per patient, got " +
                                std::to_string(seeds.size()) + " for " +
                                std::to_string(patients.size()) + " patients");
  }
  if (n_threads < 1) {
    throw std::invalid_argument("n_threads must be at least 1, got " +
                                std::to_string(n_threads));
  }
  check_recording(duration_s, fs);
  std::vector<SimulationResult> results(patients.size());
  std::vector<std::exception_ptr> errors(patients.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&]() {
    for (std::size_t i = next++; i < patients.size(); i = next++) {
      try {
        results[i] = simulate(patients[i], duration_s, fs, seeds[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const auto count = static_cast<std::size_t>(n_threads);
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < std::min(count, patients.size()); ++t) {
    threads.emplace_back(worker);
  }
  worker();
  for (std::thread& thread : threads) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return results;
}

}  // namespace cardiofair
