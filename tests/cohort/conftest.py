"""A fabricated source and a spec fitted to it with the real engine, shared by
the cohort tests.

The engine runs on a 2 mm grid (``grid_spacing_mm = 2``; the default is 1 mm)
so that the 2,000-patient cohort of the acceptance test takes about a minute
on two cores.
"""

from __future__ import annotations

import pytest

from engine.demo_source import write_demo_source
from engine.fit import fit_spec

FAST_ENGINE = {"grid_spacing_mm": 2.0}


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory):
    return write_demo_source(tmp_path_factory.mktemp("source") / "demo", 4000, 0)


@pytest.fixture(scope="session")
def fitted(demo_source, tmp_path_factory):
    """(spec path, spec, fit report) of a spec fitted with the real engine."""
    path = tmp_path_factory.mktemp("spec") / "cohort.toml"
    spec, report = fit_spec(
        demo_source,
        path,
        seed=3,
        calibration_per_class=10,
        check_patients=0,
        threads=2,
        engine_options=FAST_ENGINE,
    )
    return path, spec, report
