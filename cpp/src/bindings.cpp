// The only pybind11 file: exposes the engine to Python as engine._core.
#include <pybind11/pybind11.h>

#include "cardiofair/version.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "cardiofair electrophysiology engine (C++ core)";
  m.def("engine_version", &cardiofair::engine_version,
        "Version string of the compiled engine.");
}
