"""The C++ engine against the NumPy reference implementation of the model."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import _core, reference

# Coarse anatomy and a thick atrial wall keep the interpreted reference quick.
SMALL = {"grid_spacing_mm": 3.0, "atrial_wall_mm": 4.0}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"pvc_every_n_beats": 3.0, "infarct_territory": 1.0, "noise_mains_mv": 0.1},
        {"atrial_fibrillation": 1.0, "noise_muscle_mv": 0.02, "lbbb": 1.0},
    ],
    ids=["sinus rhythm", "ectopy, infarct and mains", "fibrillation and block"],
)
def test_engine_and_reference_agree_to_rounding(overrides):
    patient = engine.VirtualPatient.from_overrides({**SMALL, **overrides})
    fast = _core.simulate(dict(patient.values), 3.0, 500.0, 5)
    slow = reference.simulate(patient, 3.0, 500.0, 5)
    np.testing.assert_array_equal(fast["fiducials"], slow["fiducials"])
    np.testing.assert_allclose(fast["rr_ms"], slow["rr_ms"], rtol=1e-12)
    np.testing.assert_allclose(fast["signals"], slow["signals"], rtol=0, atol=1e-9)
    assert np.abs(fast["signals"]).max() > 0.1


def test_activation_times_and_weights_match_node_for_node():
    values = dict(engine.VirtualPatient.from_overrides(SMALL).values)
    fast = _core.heart_model(values, 3)
    slow = reference.build_heart(values, 3)
    np.testing.assert_array_equal(fast["ventricular_position_mm"],
                                  slow.ventricles.grid.position)  # fmt: skip
    np.testing.assert_allclose(fast["ventricular_activation_ms"], slow.activation,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(fast["ventricular_weights"], slow.v_weights,
                               rtol=1e-9, atol=1e-15)  # fmt: skip
    assert abs(fast["ventricular_weights"].sum(axis=0)).max() < 1e-12
