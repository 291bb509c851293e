"""Typed description of the compiled engine (built from cpp/ by pybind11)."""

from typing import TypedDict

import numpy as np
import numpy.typing as npt

class InsufficientMemory(MemoryError): ...

class RawSimulation(TypedDict):
    signals: npt.NDArray[np.float64]  # (n_samples, 12), mV
    fiducials: npt.NDArray[np.int32]  # (n_beats, 5), samples, -1 if absent
    beat_type: npt.NDArray[np.int32]  # (n_beats,), 0 sinus, 1 premature
    rr_ms: npt.NDArray[np.float64]  # (n_beats,)
    n_ventricular_nodes: int
    n_atrial_nodes: int

def engine_version() -> str: ...
def parameter_specs() -> list[tuple[str, str, float, float, float, float, bool, str]]:
    """Rows (name, unit, default, min, max, prior_sd, integer, description)."""

def validate_parameters(overrides: dict[str, float]) -> None:
    """Raise ValueError naming the parameter, its range and the value."""

def simulate(
    overrides: dict[str, float], duration_s: float, fs: float, seed: int
) -> RawSimulation: ...
def simulate_batch(
    overrides: list[dict[str, float]],
    seeds: list[int],
    duration_s: float,
    fs: float,
    n_threads: int,
) -> list[RawSimulation]: ...
def check_grid_memory(n_voxels: int) -> None:
    """Raise InsufficientMemory if the grid would not fit; allocates nothing."""

def heart_model(overrides: dict[str, float], seed: int) -> dict[str, object]:
    """Positions (n, 3) mm, activation and APD (n,) ms, weights (n, 9) mV."""

def ap_shapes(
    sample_ms: float, smoothing_ms: float, plateau_lead_ms: float
) -> dict[str, object]: ...
def mitchell_schaeffer_apd90_ms(
    tau_in_ms: float = 0.3,
    tau_out_ms: float = 6.0,
    tau_open_ms: float = 120.0,
    tau_close_ms: float = 150.0,
    v_gate: float = 0.13,
) -> float: ...
