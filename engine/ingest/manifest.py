"""Legal basis and purpose of a source, as DPV IRIs.

Health data is a special category (GDPR Art. 9): processing it needs a
lawful basis under Art. 6(1) and a condition under Art. 9(2). Both are
recorded as IRIs of the W3C Data Privacy Vocabulary's GDPR extension
(``https://w3id.org/dpv/legal/eu/gdpr#A9-2-j`` is scientific research);
purposes as DPV purpose IRIs (``https://w3id.org/dpv#ScientificResearch``).
"""

from __future__ import annotations

import re

from engine.ingest.errors import InvalidManifest

GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
DPV = "https://w3id.org/dpv#"

ART6_BASES = {f"A6-1-{letter}" for letter in "abcdef"}
ART9_CONDITIONS = {f"A9-2-{letter}" for letter in "abcdefghij"}
RESEARCH_PURPOSES = {
    "ScientificResearch",
    "AcademicResearch",
    "NonCommercialResearch",
    "CommercialResearch",
    "ResearchAndDevelopment",
}


def legal_basis_iris(values: list[str]) -> list[str]:
    """Expand and check the legal bases given for a source.

    Parameters
    ----------
    values : list of str
        Each either a full DPV GDPR IRI, ``gdpr:A9-2-j`` or plain ``A9-2-j``.

    Returns
    -------
    list of str
        Full IRIs, Art. 6 first, without duplicates.

    Raises
    ------
    InvalidManifest
        When a value is not an Art. 6(1) or Art. 9(2) basis, or when either
        article is missing.
    """
    codes = []
    for value in values:
        code = value.strip().removeprefix(GDPR).removeprefix("gdpr:")
        if code not in ART6_BASES | ART9_CONDITIONS:
            raise InvalidManifest(
                f"legal basis {value!r} is not a GDPR Art. 6(1) or 9(2) basis; "
                f"expected e.g. {GDPR}A6-1-e or A9-2-j"
            )
        if code not in codes:
            codes.append(code)
    if not ART6_BASES & set(codes):
        raise InvalidManifest(
            "no Art. 6(1) lawful basis given; expected one of A6-1-a ... A6-1-f"
        )
    if not ART9_CONDITIONS & set(codes):
        raise InvalidManifest(
            "health data needs an Art. 9(2) condition as well; expected one of "
            "A9-2-a ... A9-2-j (A9-2-j: scientific research)"
        )
    return [GDPR + code for code in sorted(codes)]


def purpose_iris(values: list[str]) -> list[str]:
    """Expand and check purposes: DPV purpose IRIs or their local names.

    Raises
    ------
    InvalidManifest
        When a value is neither a known research purpose name nor an IRI in
        the DPV namespace, or when none is given.
    """
    if not values:
        raise InvalidManifest("no purpose given; expected e.g. ScientificResearch")
    iris = []
    for value in values:
        name = value.strip().removeprefix(DPV).removeprefix("dpv:")
        known = name in RESEARCH_PURPOSES
        in_dpv = value.strip().startswith((DPV, "dpv:"))
        if not known and not (in_dpv and re.fullmatch(r"[A-Z][A-Za-z0-9]+", name)):
            raise InvalidManifest(
                f"purpose {value!r} is not a DPV purpose; expected a {DPV} IRI or "
                f"one of {', '.join(sorted(RESEARCH_PURPOSES))}"
            )
        if DPV + name not in iris:
            iris.append(DPV + name)
    return iris


def check_name(name: str) -> str:
    """A source name: 1-100 printable characters, no path separators."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable() or "/" in name:
        raise InvalidManifest(
            f"source name {name!r} must be 1-100 printable characters without '/'"
        )
    return name
