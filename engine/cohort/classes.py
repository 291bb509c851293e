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


#: The engine pathology (a key of :data:`engine.PATHOLOGIES`) simulating each
#: class. Anteroseptal and anterolateral infarcts are simulated as anterior
#: (LAD) infarcts and inferolateral ones as inferior (RCA): the engine has one
#: territory per artery.
ENGINE_PATHOLOGY = {
    "NORM": "NORM",
    "1AVB": "1AVB",
    "CLBBB": "CLBBB",
    "CRBBB": "CRBBB",
    "LAFB": "LAFB",
    "AMI": "AMI",
    "ASMI": "AMI",
    "ALMI": "AMI",
    "IMI": "IMI",
    "ILMI": "IMI",
    "LMI": "LMI",
    "LVH": "LVH",
    "LAO/LAE": "LAO/LAE",
    "AFIB": "AFIB",
    "PVC": "PVC",
}
