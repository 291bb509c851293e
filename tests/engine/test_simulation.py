"""engine.simulate and engine.simulate_batch: shapes, seeds, threads, errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import _core

COARSE = {"grid_spacing_mm": 2.5}


@pytest.fixture(scope="module")
def record():
    return engine.simulate(COARSE, duration_s=4.0, fs=500, seed=7)


def test_a_record_has_twelve_leads_in_millivolts_and_ordered_fiducials(record):
    assert record.signals.shape == (2000, 12)
    assert record.signals.dtype == np.float64
    assert record.leads == ("I", "II", "III", "aVR", "aVL", "aVF",
                            "V1", "V2", "V3", "V4", "V5", "V6")  # fmt: skip
    assert 0.2 < np.abs(record.signals).max() < 5.0
    fid = record.fiducials
    assert fid.shape[1] == 5 and len(fid) >= 3
    complete = fid[(fid >= 0).all(axis=1)]
    assert (np.diff(complete, axis=1) > 0).all()
    assert record.rr_ms.shape == record.beat_type.shape == (len(fid),)
    assert record.engine_version == engine.version()


def test_einthoven_and_goldberger_relations_hold(record):
    s = record.signals
    np.testing.assert_allclose(s[:, 1], s[:, 0] + s[:, 2], atol=1e-12)
    np.testing.assert_allclose(s[:, 3] + s[:, 4] + s[:, 5], 0.0, atol=1e-12)


def test_the_same_seed_repeats_bit_for_bit_and_another_seed_differs(record):
    again = engine.simulate(COARSE, duration_s=4.0, fs=500, seed=7)
    other = engine.simulate(COARSE, duration_s=4.0, fs=500, seed=8)
    assert np.array_equal(record.signals, again.signals)
    assert not np.array_equal(record.signals, other.signals)


def test_batch_output_is_identical_whatever_the_thread_count(record):
    patients = [COARSE, {**COARSE, "heart_rate_bpm": 95.0}, COARSE]
    seeds = [7, 8, 9]
    one = engine.simulate_batch(patients, seeds, 4.0, 500, n_threads=1)
    two = engine.simulate_batch(patients, seeds, 4.0, 500, n_threads=2)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a.signals, b.signals)
        assert np.array_equal(a.fiducials, b.fiducials)
    assert np.array_equal(one[0].signals, record.signals)


def test_sampling_at_1000_hz_gives_the_same_timing(record):
    fast = engine.simulate(COARSE, duration_s=4.0, fs=1000, seed=7)
    assert fast.signals.shape == (4000, 12)
    assert abs(fast.intervals.qt_ms - record.intervals.qt_ms) <= 2.0
    assert abs(fast.intervals.pr_ms - record.intervals.pr_ms) <= 2.0


def test_noise_is_off_by_default_and_adds_when_asked(record):
    noisy = engine.simulate({**COARSE, "noise_muscle_mv": 0.05}, 4.0, 500, seed=7)
    residual = noisy.signals[:, 6] - record.signals[:, 6]
    assert 0.03 < residual.std() < 0.08


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"duration_s must be in \(0, 600\]"):
        engine.simulate(COARSE, duration_s=0.0)
    with pytest.raises(ValueError, match=r"fs must be in \[100, 5000\] Hz"):
        engine.simulate(COARSE, fs=20)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64 - 1\]"):
        engine.simulate(COARSE, seed=-1)
    with pytest.raises(TypeError, match="seed must be an integer"):
        engine.simulate(COARSE, seed=1.5)
    with pytest.raises(TypeError, match="patient must be a VirtualPatient"):
        engine.simulate("NORM")
    with pytest.raises(ValueError, match="seeds must have one entry per patient"):
        engine.simulate_batch([COARSE, COARSE], [1])
    with pytest.raises(ValueError, match="n_threads must be at least 1, got 0"):
        engine.simulate_batch([COARSE], [1], n_threads=0)


def test_a_grid_too_large_for_memory_raises_memory_error_without_allocating():
    # 10**15 voxels would need ~160 PB; the guard only multiplies.
    with pytest.raises(MemoryError, match="increase grid_spacing_mm"):
        _core.check_grid_memory(10**15)
    with pytest.raises(_core.InsufficientMemory):
        _core.check_grid_memory(10**15)
    _core.check_grid_memory(1000)
