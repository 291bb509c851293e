"""Physiology of healthy patients and the signatures of each pathology.

Small seeded cohorts at the default resolution; the full cohorts (200 healthy
patients, 10 per pathology) are measured by ``bench/engine_validation.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine import validation as v

N_HEALTHY = 8
N_EACH = 4


@pytest.fixture(scope="module")
def healthy():
    patients = engine.draw_patients(N_HEALTHY, 2026)
    return engine.simulate_batch(patients, list(range(N_HEALTHY)), n_threads=2)


@pytest.fixture(scope="module")
def base():
    return engine.draw_patients(N_EACH, 7)


@pytest.fixture(scope="module")
def matched_healthy(base):
    return engine.simulate_batch(base, list(range(N_EACH)), n_threads=2)


def cohort(base, name):
    extra = engine.PATHOLOGIES[name].overrides
    patients = [
        engine.VirtualPatient.from_overrides({**b.overrides(), **extra}, [name])
        for b in base
    ]
    return engine.simulate_batch(patients, list(range(N_EACH)), n_threads=2)


def test_default_patient_has_at_least_100000_ventricular_nodes():
    default = engine.simulate(engine.VirtualPatient.from_overrides(), 2.0, seed=0)
    assert default.n_ventricular_nodes >= 100_000


def test_healthy_ground_truth_lies_within_adult_norms(healthy):
    inside = [all(v.within_norms(v.measure(s).truth).values()) for s in healthy]
    assert sum(inside) >= N_HEALTHY - 1


def test_the_12_lead_delineator_finds_every_beat_and_the_true_intervals(healthy):
    # neurokit2 on all 12 leads, combined per beat (engine.delineation): PR,
    # QRS and QT within norms and close to the truth. One miss allowed. (With
    # the atrial repolarisation ending in the ST segment, dwt read the QRS
    # complexes of leads without an S wave 40-60 ms long.)
    good = 0
    for sim in healthy[:6]:
        m = v.measure(sim)
        good += (
            abs(len(m.delineation.r_peaks) - len(sim.fiducials)) <= 1
            and 120.0 <= m.delineated["pr_ms"] <= 200.0
            and abs(m.delineated["pr_ms"] - m.truth["pr_ms"]) <= 10.0
            and 70.0 <= m.delineated["qrs_ms"] <= 110.0
            and abs(m.delineated["qrs_ms"] - m.truth["qrs_ms"]) <= 15.0
            and 350.0 <= m.delineated["qtc_ms"] <= 450.0
            and abs(m.delineated["qt_ms"] - m.truth["qt_ms"]) <= 15.0
        )
    assert good >= 5


def test_bundle_branch_blocks_widen_qrs_with_their_own_morphology(base):
    # By the truth only: the delineator reads both blocks 40-60 ms short (their
    # last activation, in the blocked ventricle, is nearly silent; see
    # bench/engine_validation.py).
    for name, own, other in (
        ("CLBBB", v.lbbb_morphology, v.rbbb_morphology),
        ("CRBBB", v.rbbb_morphology, v.lbbb_morphology),
    ):
        for sim in cohort(base, name):
            truth = v.truth_delineation(sim)
            assert sim.intervals.qrs_ms >= 120.0, name
            assert own(sim, truth) and not other(sim, truth), name


def test_first_degree_av_block_prolongs_pr_beyond_200_ms(base):
    for sim in cohort(base, "1AVB"):
        assert sim.intervals.pr_ms > 200.0
        assert v.measure(sim).delineated["pr_ms"] > 200.0
        assert sim.intervals.qrs_ms <= 110.0


def test_atrial_fibrillation_has_no_organised_p_wave_and_irregular_rr(base):
    for sim in cohort(base, "AFIB"):
        d = v.measure(sim).delineation
        assert math.isnan(sim.intervals.pr_ms)
        assert not v.organised_p_waves(sim, d)
        assert v.rr_cv(d) > 0.15


def test_healthy_records_keep_organised_p_waves_and_regular_rr(matched_healthy):
    for sim in matched_healthy:
        d = v.measure(sim).delineation
        assert v.organised_p_waves(sim, d)
        assert v.rr_cv(d) < 0.1


@pytest.mark.parametrize("name", ["AMI", "IMI", "LMI"])
def test_infarcts_add_q_waves_in_the_leads_of_their_territory(
    base, matched_healthy, name
):
    leads = v.TERRITORY_LEADS[name]
    hits = 0
    for sim, normal in zip(cohort(base, name), matched_healthy, strict=True):
        d, d0 = v.truth_delineation(sim), v.truth_delineation(normal)
        new = [
            v.q_wave_ms(sim, d, lead) >= 40.0
            and v.q_wave_ms(sim, d, lead) > v.q_wave_ms(normal, d0, lead) + 10.0
            for lead in leads
        ]
        hits += any(new)
    # Measured: anterior and lateral 4 of 4, inferior 2 of 4 (see the report).
    assert hits >= N_EACH // 2


def test_hypertrophy_raises_precordial_voltage_over_the_matched_patient(
    base, matched_healthy
):
    for sim, normal in zip(cohort(base, "LVH"), matched_healthy, strict=True):
        d, d0 = v.truth_delineation(sim), v.truth_delineation(normal)
        assert v.sokolow_lyon_mv(sim, d) > 1.2 * v.sokolow_lyon_mv(normal, d0)


def test_premature_beats_are_early_wide_and_followed_by_a_pause(base):
    for sim in cohort(base, "PVC"):
        premature = np.flatnonzero(sim.beat_type == 1)
        assert premature.size >= 1
        fid = sim.fiducials
        for i in premature:
            assert fid[i, 0] == -1
            if fid[i, 3] >= 0:
                assert (fid[i, 3] - fid[i, 2]) * 1000.0 / sim.fs >= 120.0
            if i + 1 < len(sim.rr_ms):
                assert sim.rr_ms[i] < 0.8 * sim.rr_ms[i + 1]
