"""The cardiofair engine: virtual patients, cohorts, simulation runs, formats."""
