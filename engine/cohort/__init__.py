"""Cohorts of virtual patients: the spec, its distributions and sampling."""

from engine.cohort.sampling import record_name, sample_patients
from engine.cohort.spec import CohortSpec, SpecError, dump, dumps, load, loads

__all__ = [
    "CohortSpec",
    "SpecError",
    "dump",
    "dumps",
    "load",
    "loads",
    "record_name",
    "sample_patients",
]
