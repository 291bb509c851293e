"""Acceptance: planted leaks are blocked by the right evaluator; fresh draws pass."""

from __future__ import annotations

import json

import pytest

from catalog.gate import run_gate
from tests.gate.conftest import ATTACKS, CLEAN_RECORD, SEED

pytestmark = pytest.mark.slow


def _blocked(report) -> set[str]:
    """Names of the privacy evaluators whose upper bound is too high."""
    return {r.evaluator for r in report.privacy if not r.passed}


def test_independent_fresh_draws_with_clean_metadata_pass(fresh_report):
    assert fresh_report.passed, fresh_report.blocked_by
    assert fresh_report.blocked_by == []
    assert not [f for f in fresh_report.findings if f.severity == "high"]


def test_every_privacy_evaluator_ran_with_its_risk_and_ci(fresh_report):
    names = {(r.evaluator, r.target) for r in fresh_report.privacy}
    assert names == {
        ("singling_out_univariate", None),
        ("singling_out_multivariate", None),
        ("linkability", None),
        ("inference", "diagnosis"),
    }
    for risk in fresh_report.privacy:
        assert 0.0 <= risk.ci[0] <= risk.risk <= risk.ci[1] <= 1.0
        assert risk.threshold is not None


def test_a_noisy_copy_of_the_training_rows_is_blocked_by_linkability_and_inference(
    noisy_report,
):
    assert not noisy_report.passed
    assert {"linkability", "inference"} <= _blocked(noisy_report)
    linkability = next(r for r in noisy_report.privacy if r.evaluator == "linkability")
    assert linkability.risk > 0.5


def test_copied_outliers_are_blocked_by_singling_out(outlier_report):
    assert not outlier_report.passed
    assert "singling_out_multivariate" in _blocked(outlier_report)
    assert "linkability" not in _blocked(outlier_report)
    assert outlier_report.fidelity["memorisation"]["exact_copies"] > 0


def test_planted_metadata_leaks_are_blocked_by_the_leakage_scan(tables, headers_dir):
    real, control, synthetic = tables
    record = dict(CLEAN_RECORD)
    record["dct:description"] = (
        "ECGs of Mrs. Jane Holloway and 1,499 others; patients admitted on "
        "14/03/2021 were excluded, and 3 patients had a pacemaker."
    )
    report = run_gate(
        real,
        control,
        synthetic,
        metadata=record,
        files_dir=headers_dir,
        seed=SEED,
        n_attacks=ATTACKS,
        n_jobs=1,
    )
    assert not report.passed
    assert not _blocked(report), "the rows are fresh draws; only metadata leaks"
    rules = {f.rule for f in report.findings if f.severity == "high"}
    assert {
        "identifier.person-name",
        "quasi.exact-date",
        "count.small",
        "wfdb.comment-date",
        "wfdb.comment-demographics",
    } <= rules
    assert any(r.startswith("metadata leakage") for r in report.blocked_by)


def test_the_verdict_is_reproducible_for_a_seed_and_independent_of_workers(
    tables, fresh_report
):
    real, control, synthetic = tables
    again = run_gate(
        real,
        control,
        synthetic,
        metadata=CLEAN_RECORD,
        seed=SEED,
        n_attacks=ATTACKS,
        n_jobs=2,
    )
    assert again.verdict_dict() == fresh_report.verdict_dict()


def test_unequal_training_and_control_sizes_are_equalised_and_noted(tables):
    real, control, synthetic = tables
    report = run_gate(
        real, control.iloc[:600], synthetic, seed=SEED, n_attacks=200, n_jobs=1
    )
    assert report.inputs["rows"] == {"real": 1500, "control": 600, "synthetic": 1500}
    assert any("subsampled to 600 rows" in n for n in report.inputs["notes"])
    assert all(r.n_attacks <= 600 for r in report.privacy)


def test_the_json_report_has_the_documented_layout(fresh_report):
    data = json.loads(fresh_report.to_json())
    assert data["report_version"] == 1
    assert set(data) >= {
        "passed",
        "blocked_by",
        "seed",
        "n_attacks",
        "thresholds",
        "inputs",
        "privacy",
        "leakage",
        "fidelity",
        "utility",
        "bias",
        "summary",
        "limitations",
        "measurements",
        "timings_s",
    }
    assert data["privacy"][0]["ci"] == list(fresh_report.privacy[0].ci)
    assert set(data["leakage"]) == {"passed", "counts", "findings"}
    assert data["utility"]["labels"]["diagnosis"]["trtr_f1"] > 0
    assert 0.9 < data["fidelity"]["quality"] <= 1.0
    assert 0.4 < data["fidelity"]["memorisation"]["closer_to_train"] < 0.6
    assert data["summary"].startswith("The release gate passed")
    metrics = {m["metric"]: m["value"] for m in data["measurements"]}
    assert metrics["gate/passed"] == 1.0
    inference = next(r for r in fresh_report.privacy if r.evaluator == "inference")
    assert metrics["privacy/inference/diagnosis/ci_upper"] == inference.ci[1]
    assert metrics["leakage/high_findings"] == 0.0
    assert data["limitations"]


def test_the_html_report_escapes_what_it_shows(fresh_report):
    page = fresh_report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert 'Release gate: <span class="pass">passed</span>' in page
    assert "Summary and limitations" in page
    assert "<script" not in page


def test_a_noisy_copy_is_seen_as_memorised(noisy_report):
    assert noisy_report.fidelity["memorisation"]["closer_to_train"] > 0.9
