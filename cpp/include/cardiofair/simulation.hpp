#pragma once
// One virtual patient from parameters to a 12-lead ECG with ground truth, and a
// batch of patients on several threads.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cardiofair/action_potential.hpp"
#include "cardiofair/eikonal.hpp"
#include "cardiofair/geometry.hpp"
#include "cardiofair/parameters.hpp"

namespace cardiofair {

// Everything about a patient that does not change from beat to beat.
struct HeartModel {
  VentricularAnatomy ventricles;
  AtrialAnatomy atria;
  std::vector<double> ventricular_activation_ms;  // sinus beats
  std::vector<double> ectopic_activation_ms;      // premature beats (if any)
  std::vector<double> ventricular_apd_ms;         // APD90 at RR 1000 ms
  std::vector<double> atrial_activation_ms;
  std::vector<std::vector<double>> fibrillation_activation_ms;  // AF wave maps
  std::vector<double> ventricular_weights;                      // node * 9 + electrode
  std::vector<double> atrial_weights;
  double av_node_arrival_ms = 0.0;
};

HeartModel build_heart(const PatientParameters& params, std::uint64_t seed);

// Fiducials per beat, in samples; -1 where absent or outside the record.
enum Fiducial : int { p_on = 0, p_off, qrs_on, qrs_off, t_end, fiducial_count };

struct SimulationResult {
  std::size_t n_samples = 0;
  std::vector<double> signals;  // n_samples x 12, mV, row-major
  std::vector<int> fiducials;   // n_beats x 5 (Fiducial order)
  std::vector<int> beat_type;   // 0 conducted sinus, 1 premature ventricular
  std::vector<double> rr_ms;    // interval from the previous ventricular beat
  std::size_t n_ventricular_nodes = 0;
  std::size_t n_atrial_nodes = 0;
};

SimulationResult simulate(const PatientParameters& params, double duration_s, double fs,
                          std::uint64_t seed);

// Patients are shared among n_threads workers; each result depends only on its
// patient and seed, so the output is identical for any thread count.
std::vector<SimulationResult> simulate_batch(
    const std::vector<PatientParameters>& patients,
    const std::vector<std::uint64_t>& seeds, double duration_s, double fs,
    int n_threads);

// Raises std::invalid_argument unless duration and sampling rate are usable.
void check_recording(double duration_s, double fs);

}  // namespace cardiofair
