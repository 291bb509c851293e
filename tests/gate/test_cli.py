"""``cardiofair gate``: exit 0 passed, 1 blocked, 2 bad input, never a traceback."""

from __future__ import annotations

import json

import pytest

from catalog.cli import main
from tests.gate.cohort import cohort, noisy_copy


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    real, control, synthetic = cohort(1500, 7)
    real.to_csv(folder / "train.csv", index=False)
    control.to_csv(folder / "control.csv", index=False)
    synthetic.to_csv(folder / "syn.csv", index=False)
    noisy_copy(real, 7).to_csv(folder / "noisy.csv", index=False)
    return folder


def _gate(folder, synthetic, *extra):
    return [
        "gate",
        "--real",
        str(folder / "train.csv"),
        "--control",
        str(folder / "control.csv"),
        "--synthetic",
        str(folder / synthetic),
        "--jobs",
        "1",
        *extra,
    ]


def test_fresh_draws_pass_with_exit_0_and_write_both_reports(csvs, tmp_path, capsys):
    out = tmp_path / "gate.json"
    code = main(
        _gate(
            csvs,
            "syn.csv",
            "--n-attacks",
            "1000",
            "--seed",
            "7",
            "--report",
            str(out),
            "--html",
            str(tmp_path / "gate.html"),
        )
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["passed"] is True
    assert "Release gate" in (tmp_path / "gate.html").read_text()
    assert capsys.readouterr().out.startswith("passed (report in")


def test_a_noisy_copy_is_blocked_with_exit_1_and_its_reasons(csvs, tmp_path, capsys):
    out = tmp_path / "gate.json"
    code = main(_gate(csvs, "noisy.csv", "--n-attacks", "300", "--report", str(out)))
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("cardiofair gate: blocked (report in")
    assert "linkability risk" in err
    assert json.loads(out.read_text())["passed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic-missing"], None),
        (
            ["--metadata", "/nonexistent/record.jsonld"],
            "metadata record /nonexistent/record.jsonld: no such file",
        ),
        (["--files", "/nonexistent"], "--files /nonexistent: no such folder"),
        (["--secret", "ldl"], "secret column 'ldl' is not in the tables"),
        (["--n-attacks", "3"], "n_attacks=3: expected at least 10"),
    ],
)
def test_bad_input_exits_2_with_one_line(csvs, tmp_path, capsys, args, message):
    argv = _gate(csvs, "syn.csv", "--report", str(tmp_path / "r.json"))
    if args == ["--synthetic-missing"]:
        argv[argv.index("--synthetic") + 1] = str(tmp_path / "none.csv")
        message = f"synthetic table {tmp_path / 'none.csv'}: no such file"
    else:
        argv += args
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"cardiofair gate: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_bad_threshold_variable_exits_2(csvs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CARDIOFAIR_GATE_LINKABILITY", "high")
    code = main(_gate(csvs, "syn.csv", "--report", str(tmp_path / "r.json")))
    assert code == 2
    assert "CARDIOFAIR_GATE_LINKABILITY='high'" in capsys.readouterr().err
