"""Reading the answers of a remote SPARQL store, in the forms stores send them.

pyoxigraph's own result parsers are strict where real stores are not:
Virtuoso writes typed literals as ``"type": "typed-literal"`` (the SPARQL 1.0
JSON form) and names blank nodes ``nodeID://b10000``, which is not a blank
node label. The JSON results are therefore read here, term by term, and a
blank node's name is turned into a valid label that keeps it apart from every
other name in the same answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pyoxigraph

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_BOOLEAN_WORDS = {"0": "false", "1": "true"}
#: The one column Virtuoso answers an ASK query with, instead of a boolean:
#: one row holding 1 if true, no row if false.
VIRTUOSO_ASK = "__ASK_RETVAL"
RESULTS_JSON = "application/sparql-results+json"
#: Media types of CONSTRUCT and DESCRIBE answers that can be read, by preference.
GRAPH_FORMATS = {
    "application/n-triples": pyoxigraph.RdfFormat.N_TRIPLES,
    "text/plain": pyoxigraph.RdfFormat.N_TRIPLES,
    "text/ntriples": pyoxigraph.RdfFormat.N_TRIPLES,
    "text/turtle": pyoxigraph.RdfFormat.TURTLE,
    "application/x-turtle": pyoxigraph.RdfFormat.TURTLE,
    "application/rdf+xml": pyoxigraph.RdfFormat.RDF_XML,
}
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


class UnreadableAnswer(ValueError):
    """The store answered with something that is not what was asked for."""


class Row(dict):
    """One solution: a variable's term by name, ``None`` where unbound."""

    def __missing__(self, name: str) -> None:
        return None


class Solutions:
    """The solutions of a SELECT answer, like :class:`pyoxigraph.QuerySolutions`."""

    def __init__(self, names: list[str], rows: list[Row]):
        self.variables = [pyoxigraph.Variable(name) for name in names]
        self.rows = rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def blank_label(name: str) -> str:
    """A blank node label for the store's name ``name``.

    A name of letters, digits and hyphens is kept; in any other, each other
    character is written as ``_`` and six hex digits of its code point
    after ``x_`` (``nodeID://b1`` becomes ``x_nodeID_00003a_00002f_00002fb1``),
    so two names never meet on one label.
    """
    if _LABEL.match(name):
        return name
    return "x_" + _UNSAFE.sub(lambda m: f"_{ord(m.group()):06x}", name)


def json_term(cell: dict) -> pyoxigraph.NamedNode | pyoxigraph.BlankNode:
    """One RDF term of a JSON result binding.

    Raises
    ------
    UnreadableAnswer
        For a binding that is not a term of the SPARQL JSON results format.
    """
    try:
        kind, value = cell["type"], cell["value"]
        if kind == "uri":
            return pyoxigraph.NamedNode(value)
        if kind == "bnode":
            return pyoxigraph.BlankNode(blank_label(value))
        if kind in ("literal", "typed-literal"):
            return _literal(value, cell.get("xml:lang"), cell.get("datatype"))
        if kind == "triple":
            return pyoxigraph.Triple(
                json_term(value["subject"]),
                json_term(value["predicate"]),
                json_term(value["object"]),
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableAnswer(
            f"a result binding is malformed ({exc}): {cell}"
        ) from None
    raise UnreadableAnswer(f"a result binding has the unknown type {kind!r}")


def _literal(value: str, language: str | None, datatype: str | None):
    if language:
        return pyoxigraph.Literal(value, language=language)
    if datatype == XSD_BOOLEAN:
        # Virtuoso writes booleans as 0 and 1; the canonical words are kept.
        value = _BOOLEAN_WORDS.get(value, value)
    if datatype and datatype != XSD_STRING:
        return pyoxigraph.Literal(value, datatype=pyoxigraph.NamedNode(datatype))
    return pyoxigraph.Literal(value)


def read_results(content: bytes) -> bool | Solutions:
    """The answer of an ASK (a boolean) or a SELECT (its solutions), from
    SPARQL JSON results.

    Raises
    ------
    UnreadableAnswer
        If ``content`` is not SPARQL JSON results.
    """
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableAnswer(f"the answer is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UnreadableAnswer("the answer is not a SPARQL JSON results object")
    if isinstance(document.get("boolean"), bool):
        return document["boolean"]
    try:
        names = list(document["head"]["vars"])
        bindings = document["results"]["bindings"]
        if names == [VIRTUOSO_ASK]:
            return any(row[VIRTUOSO_ASK]["value"] != "0" for row in bindings)
        rows = [
            Row((name, json_term(cell)) for name, cell in binding.items())
            for binding in bindings
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnreadableAnswer(
            f"the answer lacks the head or results of SPARQL JSON results ({exc})"
        ) from None
    return Solutions(names, rows)


def read_graph(content: bytes, content_type: str) -> Iterator[pyoxigraph.Triple]:
    """The triples of a CONSTRUCT or DESCRIBE answer.

    Raises
    ------
    UnreadableAnswer
        If the answer's media type is not one of :data:`GRAPH_FORMATS` or its
        content does not parse.
    """
    media_type = content_type.split(";")[0].strip().lower()
    rdf_format = GRAPH_FORMATS.get(media_type)
    if rdf_format is None:
        raise UnreadableAnswer(
            f"the graph came as {media_type or '(no type)'!r}; expected one of "
            + ", ".join(GRAPH_FORMATS)
        )
    try:
        quads = list(pyoxigraph.parse(content, format=rdf_format))
    except SyntaxError as exc:
        raise UnreadableAnswer(
            f"the {media_type} answer does not parse: {exc}"
        ) from None
    return (pyoxigraph.Triple(q.subject, q.predicate, q.object) for q in quads)
