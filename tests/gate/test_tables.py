"""Bad tables and arguments are refused with one line naming what and why."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog.gate import GateInputError, read_table, run_gate
from catalog.gate.tables import assign_roles, harmonise
from tests.gate.cohort import cohort


@pytest.fixture(scope="module")
def three():
    return cohort(120, 11)


def test_a_missing_column_is_named(three):
    real, control, synthetic = three
    with pytest.raises(GateInputError, match=r"^synthetic table lacks \['qt_ms'\]"):
        run_gate(real, control, synthetic.drop(columns="qt_ms"), n_jobs=1)


def test_an_extra_column_is_named(three):
    real, control, synthetic = three
    with pytest.raises(GateInputError, match=r"control table has extra \['site_id'\]"):
        run_gate(real, control.assign(site_id=1), synthetic, n_jobs=1)


def test_text_where_numbers_are_expected_is_named(three):
    real, control, synthetic = three
    synthetic = synthetic.assign(qt_ms=synthetic["qt_ms"].astype(str) + " ms")
    with pytest.raises(
        GateInputError, match=r"column 'qt_ms' holds numbers .* \['synthetic'\]"
    ):
        run_gate(real, control, synthetic, n_jobs=1)


def test_infinite_values_are_refused(three):
    real, control, synthetic = three
    synthetic = synthetic.assign(qt_ms=synthetic["qt_ms"].astype(float))
    synthetic.loc[3, "qt_ms"] = float("inf")
    with pytest.raises(
        GateInputError, match="synthetic table: column 'qt_ms' holds infinite"
    ):
        run_gate(real, control, synthetic, n_jobs=1)


def test_too_few_rows_are_refused(three):
    real, control, synthetic = three
    with pytest.raises(
        GateInputError, match="control table has 10 rows; expected at least 50"
    ):
        run_gate(real, control.iloc[:10], synthetic, n_jobs=1)


def test_an_unknown_secret_is_named(three):
    real, control, synthetic = three
    with pytest.raises(
        GateInputError, match=r"secret column 'ldl' is not in the tables"
    ):
        run_gate(real, control, synthetic, secrets=["ldl"], n_jobs=1)


def test_tables_without_demographics_are_refused():
    with pytest.raises(GateInputError, match="no demographic columns"):
        assign_roles(["qt_ms", "pr_ms"], ["diagnosis"])


def test_roles_default_to_labels_as_secrets_and_named_demographics(three):
    real, control, synthetic = three
    _, numeric, categorical = harmonise([real, control, synthetic], list(real.columns))
    roles = assign_roles(numeric, categorical, secrets=["qtc_ms"])
    assert roles.secrets == ["diagnosis", "qtc_ms"]
    assert roles.demographics == ["age", "height_cm", "weight_kg", "sex"]
    assert "sex" in categorical and "qt_ms" in numeric


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.xlsx", b"x", r"expected a \.csv or \.parquet file"),
        ("t.parquet", b"not parquet", r"cannot be read"),
        ("t.csv", b"", r"cannot be read"),
    ],
)
def test_unreadable_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(GateInputError, match=message):
        read_table(path, "real")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(GateInputError, match=r"real table .*nope.csv: no such file"):
        read_table(tmp_path / "nope.csv", "real")


def test_a_parquet_table_reads_like_a_csv(tmp_path, three):
    real, _, _ = three
    real.to_parquet(tmp_path / "r.parquet")
    real.to_csv(tmp_path / "r.csv", index=False)
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "r.parquet", "real"),
        read_table(tmp_path / "r.csv", "real"),
    )


def test_bias_names_an_under_represented_group_and_ignores_tiny_ones():
    from catalog.gate.bias import bias

    real = pd.DataFrame(
        {"sex": ["F"] * 500 + ["M"] * 500, "age": [40] * 990 + [95] * 10}
    )
    synthetic = pd.DataFrame({"sex": ["F"] * 300 + ["M"] * 700, "age": [40] * 1000})
    result = bias(real, synthetic, ["sex", "age"], numeric=["age"])
    assert result["under_represented"] == ["sex=F"]
    assert result["over_represented"] == ["sex=M"]
    assert result["columns"]["age"]["groups"]["90-99"]["synthetic_share"] == 0.0
    assert result["min_ratio"] == pytest.approx(0.6)
