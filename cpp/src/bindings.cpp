// The only pybind11 file: exposes the engine to Python as engine._core.
// Inputs are checked before any C++ work; simulations run with the GIL
// released; result arrays take ownership of the C++ buffers without copying.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cardiofair/action_potential.hpp"
#include "cardiofair/ecg.hpp"
#include "cardiofair/eikonal.hpp"
#include "cardiofair/geometry.hpp"
#include "cardiofair/parameters.hpp"
#include "cardiofair/simulation.hpp"
#include "cardiofair/version.hpp"

namespace py = pybind11;
using namespace cardiofair;

namespace {

// Moves a vector into a NumPy array that owns it.
template <typename T>
py::array_t<T> to_array(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule release(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), release);
}

py::dict to_dict(SimulationResult&& r) {
  const auto n_beats = static_cast<py::ssize_t>(r.beat_type.size());
  py::dict out;
  out["signals"] =
      to_array(std::move(r.signals), {static_cast<py::ssize_t>(r.n_samples), 12});
  out["fiducials"] = to_array(std::move(r.fiducials), {n_beats, fiducial_count});
  out["beat_type"] = to_array(std::move(r.beat_type), {n_beats});
  out["rr_ms"] = to_array(std::move(r.rr_ms), {n_beats});
  out["n_ventricular_nodes"] = r.n_ventricular_nodes;
  out["n_atrial_nodes"] = r.n_atrial_nodes;
  return out;
}

std::vector<Vec3> positions_of(const TissueGrid& grid, const HeartPose& pose) {
  std::vector<Vec3> out;
  out.reserve(grid.size());
  for (const Vec3& p : grid.position) out.push_back(pose.to_body(p));
  return out;
}

py::array_t<double> vec3_array(const std::vector<Vec3>& points) {
  std::vector<double> flat;
  flat.reserve(points.size() * 3);
  for (const Vec3& p : points) {
    flat.push_back(p.x);
    flat.push_back(p.y);
    flat.push_back(p.z);
  }
  return to_array(std::move(flat), {static_cast<py::ssize_t>(points.size()), 3});
}

py::dict heart_model(const std::map<std::string, double>& overrides,
                     std::uint64_t seed) {
  const PatientParameters params = parameters_from(overrides);
  HeartModel model;
  {
    py::gil_scoped_release release;
    model = build_heart(params, seed);
  }
  const auto nv = static_cast<py::ssize_t>(model.ventricles.grid.size());
  const auto na = static_cast<py::ssize_t>(model.atria.grid.size());
  const HeartPose pose = heart_pose(params);
  py::dict out;
  out["ventricular_position_mm"] = vec3_array(model.ventricles.grid.position);
  out["ventricular_body_position_mm"] =
      vec3_array(positions_of(model.ventricles.grid, pose));
  out["ventricular_neighbours"] =
      to_array(std::vector<int>(model.ventricles.grid.neighbours), {nv, 6});
  out["ventricular_activation_ms"] =
      to_array(std::move(model.ventricular_activation_ms), {nv});
  out["ventricular_apd_ms"] = to_array(std::move(model.ventricular_apd_ms), {nv});
  out["ventricular_weights"] =
      to_array(std::move(model.ventricular_weights),
               {nv, static_cast<py::ssize_t>(kElectrodeCount)});
  out["ectopic_activation_ms"] =
      to_array(std::move(model.ectopic_activation_ms),
               {static_cast<py::ssize_t>(model.ectopic_activation_ms.size())});
  out["atrial_position_mm"] = vec3_array(model.atria.grid.position);
  out["atrial_activation_ms"] = to_array(std::move(model.atrial_activation_ms), {na});
  out["atrial_weights"] = to_array(std::move(model.atrial_weights),
                                   {na, static_cast<py::ssize_t>(kElectrodeCount)});
  out["av_node_arrival_ms"] = model.av_node_arrival_ms;
  out["n_scar_voxels"] = model.ventricles.n_scar;
  return out;
}

py::dict ap_shapes(double sample_ms, double smoothing_ms, double plateau_lead_ms) {
  const ApShapes shapes = make_ap_shapes(sample_ms, smoothing_ms, plateau_lead_ms);
  py::dict out;
  out["upstroke_t0_ms"] = shapes.upstroke.t0_ms;
  out["upstroke"] =
      py::array_t<double>(static_cast<py::ssize_t>(shapes.upstroke.values.size()),
                          shapes.upstroke.values.data());
  out["repolarisation_t0_ms"] = shapes.repolarisation.t0_ms;
  out["repolarisation"] =
      py::array_t<double>(static_cast<py::ssize_t>(shapes.repolarisation.values.size()),
                          shapes.repolarisation.values.data());
  out["template_apd90_ms"] = shapes.template_apd90_ms;
  return out;
}

py::list parameter_specs() {
  py::list rows;
  for (const ParameterSpec& spec : parameter_table()) {
    rows.append(py::make_tuple(spec.name, spec.unit, spec.default_value, spec.min_value,
                               spec.max_value, spec.prior_sd, spec.integer,
                               spec.description));
  }
  return rows;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "cardiofair electrophysiology engine (C++ core)";
  py::register_exception<InsufficientMemory>(m, "InsufficientMemory",
                                             PyExc_MemoryError);

  m.def("engine_version", &engine_version, "Version string of the compiled engine.");
  m.def("parameter_specs", &parameter_specs,
        "Rows (name, unit, default, min, max, prior_sd, integer, description).");
  m.def(
      "validate_parameters",
      [](const std::map<std::string, double>& overrides) {
        (void)parameters_from(overrides);
      },
      py::arg("overrides"), "Raise ValueError unless every override is valid.");
  m.def(
      "simulate",
      [](const std::map<std::string, double>& overrides, double duration_s, double fs,
         std::uint64_t seed) {
        const PatientParameters params = parameters_from(overrides);
        check_recording(duration_s, fs);
        SimulationResult result;
        {
          py::gil_scoped_release release;
          result = simulate(params, duration_s, fs, seed);
        }
        return to_dict(std::move(result));
      },
      py::arg("overrides"), py::arg("duration_s"), py::arg("fs"), py::arg("seed"));
  m.def(
      "simulate_batch",
      [](const std::vector<std::map<std::string, double>>& overrides,
         const std::vector<std::uint64_t>& seeds, double duration_s, double fs,
         int n_threads) {
        std::vector<PatientParameters> patients;
        patients.reserve(overrides.size());
        for (const auto& o : overrides) patients.push_back(parameters_from(o));
        std::vector<SimulationResult> results;
        {
          py::gil_scoped_release release;
          results = simulate_batch(patients, seeds, duration_s, fs, n_threads);
        }
        py::list out;
        for (SimulationResult& r : results) out.append(to_dict(std::move(r)));
        return out;
      },
      py::arg("overrides"), py::arg("seeds"), py::arg("duration_s"), py::arg("fs"),
      py::arg("n_threads"));
  m.def(
      "check_grid_memory",
      [](std::size_t n_voxels) {
        check_grid_memory(n_voxels, available_memory_bytes());
      },
      py::arg("n_voxels"),
      "Raise InsufficientMemory if a grid of n_voxels would not fit in the "
      "memory available now; nothing is allocated.");
  m.def("heart_model", &heart_model, py::arg("overrides"), py::arg("seed"),
        "Anatomy, activation, APD and electrode weights of one patient.");
  m.def("ap_shapes", &ap_shapes, py::arg("sample_ms"), py::arg("smoothing_ms"),
        py::arg("plateau_lead_ms"), "Upstroke and repolarisation shapes.");
  m.def(
      "mitchell_schaeffer_apd90_ms",
      [](double tau_in, double tau_out, double tau_open, double tau_close,
         double v_gate) {
        return mitchell_schaeffer_apd90_ms(
            {tau_in, tau_out, tau_open, tau_close, v_gate});
      },
      py::arg("tau_in_ms") = 0.3, py::arg("tau_out_ms") = 6.0,
      py::arg("tau_open_ms") = 120.0, py::arg("tau_close_ms") = 150.0,
      py::arg("v_gate") = 0.13, "APD90 measured on the integrated trace.");
}
