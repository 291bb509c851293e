"""SHACL validation against the official DCAT-AP and HealthDCAT-AP shapes.

Profiles (shape files bundled under ``metadata/shapes``, see PROVENANCE.md):

``dcat-ap-3.0.1``
    The consolidated DCAT-AP 3.0.1 shapes with their class ranges.
``healthdcat-ap-r8``
    HealthDCAT-AP release 8 for PUBLIC datasets (a published synthetic
    release), on top of the DCAT-AP 3.0.0 shapes it imports.
``healthdcat-ap-r5``
    HealthDCAT-AP release 5 for NON_PUBLIC datasets (a restricted real
    source), on top of the same DCAT-AP 3.0.0 shapes.

Three defects of the published files are repaired when they are loaded: the
DCAT-AP 3.0.1 file names property shapes that it never defines (they are
dropped); the release-8 file holds one property shape without ``sh:path``
(its structured-data rule), which is restated as a node shape with the same
``sh:or``; and the DCAT-AP 3.0.0 shapes under HealthDCAT-AP type
``dcat:byteSize`` as ``xsd:decimal``, an erratum that 3.0.1 corrected to
``xsd:nonNegativeInteger``, which is applied so that one record can satisfy
both profiles. Validation runs with RDFS inference, as the shapes
expect (ranges such as ``rdfs:Resource`` hold only under it).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF, SH, XSD

from metadata.namespaces import DCAT

log = logging.getLogger(__name__)

PROFILES: dict[str, tuple[str, ...]] = {
    "dcat-ap-3.0.1": ("dcat-ap-3.0.1-SHACL.ttl", "dcat-ap-3.0.1-ranges.ttl"),
    "healthdcat-ap-r8": ("dcat-ap-3.0.0-shapes.ttl", "healthdcat-ap-r8-public.ttl"),
    "healthdcat-ap-r5": (
        "dcat-ap-3.0.0-shapes.ttl",
        "healthdcat-ap-r5-nonpublic.ttl",
    ),
}
RESTATED_SHAPE = URIRef("urn:cardiofair:shapes:structured-data-has-variables")


class UnknownProfile(ValueError):
    """The profile name is not one of :data:`PROFILES`."""


def _read(name: str) -> str:
    return resources.files("metadata.shapes").joinpath(name).read_text("utf-8")


def drop_dangling_property_shapes(shapes: Graph) -> int:
    """Remove ``sh:property`` links to shapes defined nowhere; return how many."""
    dangling = [
        (shape, prop)
        for shape, prop in shapes.subject_objects(SH.property)
        if (prop, None, None) not in shapes
    ]
    for shape, prop in dangling:
        shapes.remove((shape, SH.property, prop))
    return len(dangling)


def restate_pathless_property_shapes(shapes: Graph) -> int:
    """Turn property shapes without ``sh:path`` into node shapes.

    Each such shape's constraints move to a new node shape with the owner's
    targets, so the rule still applies to the same focus nodes. Returns how
    many were restated.
    """
    pathless = [
        (owner, prop)
        for owner, prop in shapes.subject_objects(SH.property)
        if (prop, SH.path, None) not in shapes and (prop, None, None) in shapes
    ]
    for n, (owner, prop) in enumerate(pathless):
        node_shape = URIRef(f"{RESTATED_SHAPE}-{n}")
        shapes.remove((owner, SH.property, prop))
        shapes.add((node_shape, RDF.type, SH.NodeShape))
        for target in shapes.objects(owner, SH.targetClass):
            shapes.add((node_shape, SH.targetClass, target))
        for predicate, value in list(shapes.predicate_objects(prop)):
            shapes.add((node_shape, predicate, value))
        if isinstance(prop, BNode):
            shapes.remove((prop, None, None))
    return len(pathless)


def apply_byte_size_erratum(shapes: Graph) -> int:
    """Type ``dcat:byteSize`` as ``xsd:nonNegativeInteger``, as DCAT-AP 3.0.1 does."""
    fixed = 0
    for prop in list(shapes.subjects(SH.path, DCAT.byteSize)):
        if (prop, SH.datatype, XSD.decimal) in shapes:
            shapes.set((prop, SH.datatype, XSD.nonNegativeInteger))
            fixed += 1
    return fixed


@cache
def shapes_graph(profile: str) -> Graph:
    """The repaired shapes graph of a profile, loaded once per process.

    Raises
    ------
    UnknownProfile
        If ``profile`` is not a key of :data:`PROFILES`.
    """
    if profile not in PROFILES:
        raise UnknownProfile(
            f"profile {profile!r} is unknown; expected one of {', '.join(PROFILES)}"
        )
    shapes = Graph()
    for name in PROFILES[profile]:
        shapes.parse(data=_read(name), format="turtle")
    shapes.remove((None, OWL.imports, None))  # every import is bundled here
    dropped = drop_dangling_property_shapes(shapes)
    restated = restate_pathless_property_shapes(shapes)
    apply_byte_size_erratum(shapes)
    log.debug(
        "profile %s: %d triples, %d dangling dropped, %d restated",
        profile,
        len(shapes),
        dropped,
        restated,
    )
    return shapes


def validate(graph: Graph, profile: str = "dcat-ap-3.0.1") -> tuple[bool, str]:
    """Validate a graph against a profile's shapes.

    Parameters
    ----------
    graph : Graph
        The data graph; it is not modified (inference runs on a copy).
    profile : str
        A key of :data:`PROFILES`.

    Returns
    -------
    conforms : bool
        True when there is no result of severity ``sh:Violation``; warnings
        and informational results stay in the report.
    report : str
        pyshacl's text report.
    """
    shapes = shapes_graph(profile)
    conforms, _, report = pyshacl_validate(
        graph,
        shacl_graph=shapes,
        inference="rdfs",
        allow_warnings=True,
        allow_infos=True,
        inplace=False,
        advanced=True,
    )
    log.debug("validated %d triples against %s: %s", len(graph), profile, conforms)
    return bool(conforms), report


def violations(graph: Graph, profile: str = "dcat-ap-3.0.1") -> list[str]:
    """The messages of every ``sh:Violation`` result, empty when it conforms."""
    shapes = shapes_graph(profile)
    _, results, _ = pyshacl_validate(
        graph,
        shacl_graph=shapes,
        inference="rdfs",
        inplace=False,
        advanced=True,
    )
    messages = []
    for result in results.subjects(SH.resultSeverity, SH.Violation):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage)
        messages.append(f"{focus} {path}: {message}")
    return sorted(messages)


def profile_for(access_rights: str) -> str:
    """The HealthDCAT-AP profile that applies to a dataset's access rights."""
    return "healthdcat-ap-r8" if access_rights == "PUBLIC" else "healthdcat-ap-r5"


__all__ = [
    "PROFILES",
    "UnknownProfile",
    "profile_for",
    "shapes_graph",
    "validate",
    "violations",
]
