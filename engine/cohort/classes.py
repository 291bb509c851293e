"""Which SCP-ECG statements the engine can simulate, and in which order of
precedence a record with several statements is assigned one class."""

from __future__ import annotations

#: Simulable statements, most specific first: a record labelled both
#: ``CLBBB`` and ``LVH`` becomes a CLBBB patient.
PRECEDENCE = (
    "AFIB",
    "CLBBB",
    "CRBBB",
    "1AVB",
    "LAFB",
    "AMI",
    "ASMI",
    "ALMI",
    "IMI",
    "ILMI",
    "LMI",
    "LVH",
    "LAO/LAE",
    "PVC",
    "NORM",
)


def primary_class(labels: str) -> str:
    """The simulable class of a record from its ``;``-joined SCP codes, or ""."""
    codes = {code.strip() for code in labels.replace(",", ";").split(";")}
    for code in PRECEDENCE:
        if code in codes:
            return code
    return ""


#: Engine parameters that make a patient of each class, on top of the
#: calibrated mapping. Sizes for hypertrophy and atrial enlargement are
#: assumptions (echocardiographic thresholds: LV wall >= 13 mm, LA diameter
#: > 40 mm), to be refined when a source with imaging is fitted.
PATHOLOGY = {
    "NORM": {},
    "1AVB": {},
    "CLBBB": {"lbbb": 1.0},
    "CRBBB": {"rbbb": 1.0},
    "LAFB": {"lafb": 1.0},
    "AMI": {"infarct_territory": 1.0},
    "ASMI": {"infarct_territory": 1.0},
    "ALMI": {"infarct_territory": 1.0},
    "IMI": {"infarct_territory": 2.0},
    "ILMI": {"infarct_territory": 2.0},
    "LMI": {"infarct_territory": 3.0},
    "LVH": {"lv_wall_mm": 15.0},
    "LAO/LAE": {"la_radius_mm": 26.0},
    "AFIB": {"atrial_fibrillation": 1.0},
    "PVC": {"pvc_every_n_beats": 4.0},
}
