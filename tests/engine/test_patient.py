"""Virtual patients: the parameter table, validation texts and pathologies."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from engine import PARAMETERS, PATHOLOGIES, VirtualPatient, draw_patients

VOCAB = Path(__file__).parents[2] / "engine" / "ingest" / "data" / "scp_statements.csv"


def test_every_parameter_has_a_unit_a_range_holding_its_default_and_a_text():
    assert len(PARAMETERS) >= 50
    for p in PARAMETERS:
        assert p.unit and p.description
        assert p.min <= p.default <= p.max, p.name
        assert p.prior_sd >= 0.0


def test_out_of_range_value_names_the_parameter_its_range_and_the_value():
    with pytest.raises(ValueError) as error:
        VirtualPatient.from_overrides({"cv_fibre_m_per_s": 12.0})
    assert str(error.value) == "cv_fibre_m_per_s must be in [0.2, 1.2], got 12"


def test_unknown_parameter_and_pathology_and_wrong_type_are_refused():
    with pytest.raises(ValueError, match="unknown parameter 'heart_size'"):
        VirtualPatient.from_overrides({"heart_size": 1.0})
    with pytest.raises(ValueError, match="unknown pathology 'STEMI'"):
        VirtualPatient.from_overrides(pathologies=["STEMI"])
    with pytest.raises(TypeError, match="lv_wall_mm must be a number, got str"):
        VirtualPatient.from_overrides({"lv_wall_mm": "12"})
    with pytest.raises(ValueError, match="lbbb must be a whole number, got 0.5"):
        VirtualPatient.from_overrides({"lbbb": 0.5})


def test_overrides_win_over_pathology_presets_and_defaults_fill_the_rest():
    patient = VirtualPatient.from_overrides({"av_delay_ms": 250.0}, "1AVB")
    assert patient["av_delay_ms"] == 250.0
    assert patient.pathologies == ("1AVB",)
    assert patient.overrides() == {"av_delay_ms": 250.0}
    assert patient.labels == ("1AVB",)
    assert len(patient.values) == len(PARAMETERS)


def test_pathology_labels_are_ptbxl_scp_codes():
    with VOCAB.open() as handle:
        codes = {row[""] for row in csv.DictReader(handle)}
    for pathology in PATHOLOGIES.values():
        assert pathology.scp_code is None or pathology.scp_code in codes
        VirtualPatient.from_overrides(pathologies=[pathology.name])


def test_prior_draws_are_seeded_in_range_and_vary():
    first = draw_patients(5, 11)
    again = draw_patients(5, np.random.default_rng(11))
    assert [p.values for p in first] == [p.values for p in again]
    rates = {p["heart_rate_bpm"] for p in first}
    assert len(rates) == 5
    for patient in first:
        for spec in PARAMETERS:
            assert spec.min <= patient[spec.name] <= spec.max
    sick = draw_patients(2, 3, pathologies=["CLBBB"])
    assert all(p["lbbb"] == 1.0 and p.labels == ("CLBBB",) for p in sick)
