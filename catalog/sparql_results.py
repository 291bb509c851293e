"""Reading the answers of a remote SPARQL store, in the forms stores send them.

pyoxigraph's own result parsers are strict where real stores are not.
Virtuoso writes typed literals as ``"type": "typed-literal"`` (the SPARQL 1.0
JSON form), names blank nodes ``nodeID://b10000`` (not a blank node label),
writes booleans as ``0`` and ``1`` and answers ASK with a one-column table.
Results in XML and JSON are therefore read here, term by term: a blank
node's name becomes a valid label that keeps it apart from every other name,
a boolean gets its canonical form back and the ASK table becomes a boolean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pyoxigraph
from lxml import etree

from catalog.negotiation import bare_media_type

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_BOOLEAN_WORDS = {"0": "false", "1": "true"}
#: The one column Virtuoso answers an ASK query with, instead of a boolean:
#: one row holding 1 if true, no row if false.
VIRTUOSO_ASK = "__ASK_RETVAL"
RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
XML_TYPES = (RESULTS_XML, "application/xml", "text/xml")
#: XML first: Virtuoso writes XML results several times faster than JSON
#: (4 against 25 ms for 1,000 rows of one column).
RESULTS_ACCEPT = f"{RESULTS_XML}, {RESULTS_JSON};q=0.9"
SR = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True
)
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

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
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
        #: Whether the store said it cut the answer at its own row limit.
        self.cut = False

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)


def blank_label(name: str) -> str:
    """A blank node label for the store's name ``name``.

    A name of letters, digits and hyphens is kept; in any other, each other
    character is written as ``_`` and six hex digits of its code point
    after ``x_`` (``nodeID://b1`` becomes ``x_nodeID_00003a_00002f_00002fb1``),
    so two names never meet on one label.
    """
    if _LABEL.fullmatch(name):
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


def time_limit_stop(headers) -> str | None:
    """Virtuoso's reason, if it stopped the query at its own time limit and
    sent the part of the answer it had (flagged by ``X-SQL-State``); else None."""
    if "x-sql-state" not in headers:
        return None
    return headers.get("x-sql-message", "").strip()[:200]


def read_results(content: bytes, content_type: str = RESULTS_JSON) -> bool | Solutions:
    """The answer of an ASK (a boolean) or a SELECT (its solutions), from
    SPARQL results in JSON or XML, as ``content_type`` says.

    Raises
    ------
    UnreadableAnswer
        If ``content`` is not SPARQL results in that format.
    """
    if bare_media_type(content_type) in XML_TYPES:
        return _read_xml(content)
    return _read_json(content)


def _read_json(content: bytes) -> bool | Solutions:
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


def _read_xml(content: bytes) -> bool | Solutions:
    try:
        root = etree.fromstring(content, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise UnreadableAnswer(f"the XML answer does not parse ({exc})") from None
    boolean = root.find(f"{SR}boolean")
    if boolean is not None:
        return (boolean.text or "").strip() == "true"
    names = [v.get("name") for v in root.iterfind(f"{SR}head/{SR}variable")]
    results = root.find(f"{SR}results")
    if root.tag != f"{SR}sparql" or results is None:
        raise UnreadableAnswer("the answer lacks the head or results of SPARQL XML")
    rows = [
        Row((b.get("name"), xml_term(b[0])) for b in result if len(b))
        for result in results.iterfind(f"{SR}result")
    ]
    if names == [VIRTUOSO_ASK]:
        return any(row[VIRTUOSO_ASK].value != "0" for row in rows)
    return Solutions(names, rows)


def xml_term(element):
    """One RDF term of an XML result binding.

    Raises
    ------
    UnreadableAnswer
        For an element that is not a term of the SPARQL XML results format.
    """
    kind, text = etree.QName(element).localname, element.text or ""
    try:
        if kind == "uri":
            return pyoxigraph.NamedNode(text)
        if kind == "bnode":
            return pyoxigraph.BlankNode(blank_label(text))
        if kind == "literal":
            return _literal(text, element.get(XML_LANG), element.get("datatype"))
        if kind == "triple":
            parts = {etree.QName(part).localname: part for part in element}
            return pyoxigraph.Triple(
                *(
                    xml_term(parts[name][0])
                    for name in ("subject", "predicate", "object")
                )
            )
    except (KeyError, IndexError, ValueError) as exc:
        raise UnreadableAnswer(f"a result binding is malformed ({exc})") from None
    raise UnreadableAnswer(f"a result binding has the unknown element {kind!r}")


def read_graph(content: bytes, content_type: str) -> Iterator[pyoxigraph.Triple]:
    """The triples of a CONSTRUCT or DESCRIBE answer.

    Raises
    ------
    UnreadableAnswer
        If the answer's media type is not one of :data:`GRAPH_FORMATS` or its
        content does not parse.
    """
    media_type = bare_media_type(content_type)
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
