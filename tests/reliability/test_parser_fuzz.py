"""Hypothesis fuzzing of every parser that reads outside input.

Each parser must either parse or raise its own documented error: the CKAN
``fq``/``sort``/paging parameters, OAI-PMH arguments and resumption tokens,
SPARQL requests, content negotiation, the ``CARDIOFAIR_*`` settings and the
cohort spec. The same inputs are also sent to the service on a loopback port,
where every answer must be a 2xx-4xx in the protocol's own error form: CKAN's
envelope, OAI-PMH's error element with HTTP 200, SPARQL's plain-text status.
"""

from __future__ import annotations

import base64
import json
import math
import tomllib
from urllib.parse import quote, urlencode

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from catalog.negotiation import FORMATS, NotAcceptable, decide_format, parse_accept
from catalog.routes import ckan, oai
from catalog.routes.sparql import ProtocolError, choose_format
from catalog.settings import Settings, SettingsError, load_settings
from catalog.sparql_engine import QueryRefused, query_form
from engine.cohort.spec import CohortSpec, SpecError, from_dict, loads
from tests.cohort.test_spec import BASE as COHORT_SPEC

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
    database=None,
)
OAI_ERRORS = {
    "badArgument",
    "badResumptionToken",
    "badVerb",
    "cannotDisseminateFormat",
    "idDoesNotExist",
    "noRecordsMatch",
    "noMetadataFormats",
    "noSetHierarchy",
}

# Text that leans towards the characters parsers treat specially.
special = st.sampled_from(list(" :\"'()[]{}*-+!|&,;=?/\\#<>\x00\x01\n\tZT.%"))
words = st.sampled_from(
    [
        "organization",
        "groups",
        "tags",
        "res_format",
        "metadata_modified",
        "OR",
        "AND",
        "TO",
        "asc",
        "desc",
        "id",
        "2024-05-01T09:00:00Z",
        "0001-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59Z",
        "+14:00",
        "99999999999999999999",
        "-1",
        "NaN",
        "lab",
        "HEAL",
    ]
)
tricky_text = st.lists(st.one_of(special, words, st.text(max_size=6)), max_size=12).map(
    "".join
)
numbers = st.one_of(
    st.integers().map(str),
    st.sampled_from(["", "0", "-0", "1e9", "99999999999999999999", " 7", "x"]),
)


# CKAN ---------------------------------------------------------------------


@FUZZ
@given(fq=tricky_text)
def test_fq_parses_or_is_a_search_query_error(fq):
    try:
        include, exclude, since, until = ckan.parse_fq(fq)
    except ckan.ActionError as exc:
        assert exc.kind == "Search Query Error" and exc.status == 400
        return
    for facet, values in include + exclude:
        assert facet in ckan.FIELDS.values() and all(isinstance(v, str) for v in values)


@FUZZ
@given(sort=tricky_text)
def test_sort_parses_or_is_a_search_query_error(sort):
    try:
        key, descending = ckan.parse_sort(sort)
    except ckan.ActionError as exc:
        assert exc.kind == "Search Query Error"
        return
    assert key in ("relevance", "id", "name", "title", "modified", "created")
    assert descending in (None, True, False)


ckan_params = st.dictionaries(
    st.sampled_from(
        ["q", "fq", "sort", "rows", "start", "facet.field", "facet.limit", "id"]
        + ["limit", "offset", "all_fields", "include_datasets", "organizations"]
    ),
    st.one_of(tricky_text, numbers),
    max_size=5,
)
ckan_actions = st.sampled_from(
    sorted(ckan.ACTIONS) + ["package_create", "help_show", "", "x" * 300]
)


@FUZZ
@given(action=ckan_actions, params=ckan_params, post=st.booleans())
@example("package_search", {"start": "99999999999999999999"}, False)
@example("package_list", {"limit": "99999999999999999999"}, False)
@example(
    "package_search",
    {"fq": "metadata_modified:[0001-01-01T00:00:00+14:00 TO *]"},
    False,
)
def test_ckan_actions_answer_in_their_envelope(client, action, params, post):
    path = f"/api/3/action/{action}"
    if post:
        response = client.post(path, json=params)
    else:
        response = client.get(path, params=params)
    assert response.status_code < 500, response.text
    if response.status_code == 404 and not action:
        return  # no action name: not a CKAN route at all
    body = response.json()
    assert body["success"] is (response.status_code == 200), body
    if not body["success"]:
        assert body["error"]["__type"] in (
            "Not Found Error",
            "Validation Error",
            "Search Query Error",
            "Authorization Error",
            "Bad Request",
        )


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999", "9" * 40])
@pytest.mark.parametrize("name", ["rows", "start", "limit", "offset", "facet.limit"])
def test_ckan_json_numbers_out_of_range_are_validation_errors(client, name, number):
    for action in ("package_search", "package_list", "organization_list"):
        response = client.post(
            f"/api/action/{action}",
            content=f'{{"{name}": {number}}}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (200, 409), response.text
        if response.status_code == 409:
            assert response.json()["error"]["__type"] == "Validation Error"


# OAI-PMH ------------------------------------------------------------------

oai_keys = st.sampled_from(
    ["verb", "metadataPrefix", "identifier", "from", "until", "set"]
    + ["resumptionToken", "junk"]
)
oai_values = st.one_of(
    st.sampled_from(
        list(oai.VERBS) + list(oai.FORMATS) + ["org", "theme:HEAL", "org:lab"]
    ),
    tricky_text,
)


@st.composite
def tokens(draw):
    """Resumption tokens: random text, or a real token's JSON with one value
    replaced."""
    if draw(st.booleans()):
        return draw(tricky_text)
    state = {
        "p": "oai_dc",
        "f": None,
        "u": None,
        "s": None,
        "c": 7,
        "n": 40,
        "d": "2024-01-01T00:00:00+00:00",
        "i": "abc",
    }
    key = draw(st.sampled_from(sorted(state) + ["extra"]))
    state[key] = draw(
        st.one_of(
            st.none(),
            st.integers(),
            tricky_text,
            st.lists(st.integers(), max_size=2),
            st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59"]),
        )
    )
    if draw(st.booleans()):
        state = draw(st.sampled_from([[state], 3, "x", None]))
    text = json.dumps(state)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _check_oai_document(body: bytes) -> None:
    root = etree.fromstring(body)
    assert root.tag == f"{{{oai.OAI_NS}}}OAI-PMH"
    for error in root.iter(f"{{{oai.OAI_NS}}}error"):
        assert error.get("code") in OAI_ERRORS, etree.tostring(error)


@FUZZ
@given(
    pairs=st.lists(st.tuples(oai_keys, oai_values), max_size=5),
    verb=st.sampled_from(list(oai.VERBS)),
)
@example([("metadataPrefix", "oai_dc"), ("until", "9999-12-31")], "ListRecords")
@example([("identifier", "\x01"), ("metadataPrefix", "oai_dc")], "GetRecord")
@example([("verb", "\x00")], "Identify")
def test_oai_arguments_give_a_document_or_an_oai_error(client, pairs, verb):
    response = client.get("/oai?" + urlencode([("verb", verb), *pairs]))
    assert response.status_code == 200
    _check_oai_document(response.content)


@FUZZ
@given(token=tokens(), verb=st.sampled_from(["ListRecords", "ListIdentifiers"]))
def test_resumption_tokens_resume_or_are_bad_tokens(client, token, verb):
    response = client.post("/oai", data={"verb": verb, "resumptionToken": token})
    assert response.status_code == 200
    _check_oai_document(response.content)


@FUZZ
@given(token=tokens())
def test_the_token_parser_raises_only_bad_resumption_token(token):
    try:
        oai._from_token(token)
    except oai.OaiError as exc:
        assert exc.code == "badResumptionToken"


@FUZZ
@given(body=st.binary(max_size=80))
def test_oai_post_of_any_bytes_is_a_document(client, body):
    response = client.post(
        "/oai",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    _check_oai_document(response.content)


# SPARQL -------------------------------------------------------------------

sparql_words = st.sampled_from(
    [
        "SELECT",
        "ASK",
        "CONSTRUCT",
        "DESCRIBE",
        "WHERE",
        "{",
        "}",
        "?s",
        "?p",
        "?o",
        ".",
        "LIMIT 3",
        "INSERT DATA",
        "DELETE",
        "SERVICE <http://127.0.0.1:9/>",
        "PREFIX x: <http://x/>",
        "*",
        '"""',
        "<",
        ">",
        "#",
        "FILTER(",
        ")",
    ]
)
queries = st.lists(st.one_of(sparql_words, st.text(max_size=4)), max_size=10).map(
    " ".join
)


@FUZZ
@given(query=queries)
def test_query_checking_gives_a_form_or_a_refusal(query):
    try:
        form = query_form(query)
    except QueryRefused as exc:
        assert str(exc)
        return
    assert form in ("select", "ask", "graph")


accepts = st.lists(
    st.one_of(
        st.sampled_from(
            [f.media_type for f in FORMATS]
            + ["*/*", "text/*", "application/*", "application/json", "q=0.5"]
            + ["application/sparql-results+xml;q=0", "text/plain;q=abc"]
        ),
        tricky_text,
    ),
    max_size=4,
).map(lambda parts: "".join(c for c in ",".join(parts) if " " <= c <= "~").strip())


@FUZZ
@given(
    form=st.sampled_from(["select", "ask", "graph"]),
    params=st.lists(
        st.tuples(st.sampled_from(["format", "output", "results", "x"]), tricky_text),
        max_size=3,
    ),
    accept=accepts,
)
def test_sparql_format_choice_is_a_format_or_406(form, params, accept):
    try:
        fmt = choose_format(form, params, accept)
    except ProtocolError as exc:
        assert exc.status == 406
        return
    assert fmt in (
        "json",
        "xml",
        "csv",
        "tsv",
        "turtle",
        "ntriples",
        "rdfxml",
        "jsonld",
    )


@FUZZ
@given(
    query=st.one_of(queries, st.just("ASK { ?s ?p ?o }")),
    method=st.sampled_from(["get", "form", "raw", "other"]),
    accept=accepts,
    extra=st.lists(
        st.tuples(st.sampled_from(["query", "update", "format"]), tricky_text),
        max_size=2,
    ),
)
def test_sparql_requests_answer_with_a_protocol_status(
    client, query, method, accept, extra
):
    headers = {"Accept": accept}
    if method == "get":
        response = client.get(
            "/sparql", params=[("query", query), *extra], headers=headers
        )
    elif method == "form":
        response = client.post(
            "/sparql", data={"query": query, **dict(extra)}, headers=headers
        )
    else:
        kind = "application/sparql-query" if method == "raw" else accept
        response = client.post(
            "/sparql",
            content=query.encode("utf-8", "surrogatepass"),
            headers={**headers, "Content-Type": kind},
        )
    assert response.status_code in (200, 400, 406, 415), response.text


# Content negotiation ------------------------------------------------------


@FUZZ
@given(header=st.one_of(accepts, st.text()))
def test_accept_headers_parse_to_ranked_media_ranges(header):
    ranges = parse_accept(header)
    qualities = [q for _, q in ranges]
    assert qualities == sorted(qualities, reverse=True)
    assert all(0 < q <= 1 and not math.isnan(q) for q in qualities)
    assert all("/" in media for media, _ in ranges)


@FUZZ
@given(accept=st.one_of(st.none(), accepts), param=st.one_of(st.none(), tricky_text))
def test_format_decision_is_an_offered_format_or_not_acceptable(accept, param):
    offered = list(FORMATS)
    try:
        chosen = decide_format(offered, accept, param)
    except NotAcceptable as exc:
        assert exc.listing().startswith(str(exc))
        return
    assert chosen in offered


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/dataset/synthetic-ecg-000000",
            "/dataset/synthetic-ecg-000001/v1",
            "/catalog",
        ]
    ),
    suffix=st.sampled_from(["", ".ttl", ".jsonld", ".rdf", ".nt", ".bib", ".x"]),
    accept=accepts,
    params=st.dictionaries(
        st.sampled_from(["format", "page", "page_size"]), tricky_text, max_size=2
    ),
)
def test_negotiated_uris_answer_or_refuse_cleanly(client, path, suffix, accept, params):
    response = client.get(path + suffix, params=params, headers={"Accept": accept})
    assert response.status_code in (200, 400, 404, 406, 410), response.text[:300]


# Pages --------------------------------------------------------------------


@FUZZ
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["q", "page", "sort", "organization", "theme", "license"]),
            st.one_of(tricky_text, numbers),
        ),
        max_size=4,
    ),
    slug=st.one_of(st.just("synthetic-ecg-000000"), tricky_text),
    version=st.one_of(numbers, tricky_text),
)
def test_pages_answer_any_query_or_address_without_error(client, params, slug, version):
    assert client.get("/search", params=params).status_code == 200
    slug, version = quote(slug, safe=""), quote(version, safe="")
    assume(slug.strip("."))
    for path in (f"/dataset/{slug}", f"/dataset/{slug}/v{version}"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code in (200, 404, 406, 410), (path, response.text)


# Settings -----------------------------------------------------------------

setting_names = st.sampled_from(
    [
        "HOME",
        "DATABASE_URL",
        "BASE_URL",
        "ID_PREFIX",
        "ENV",
        "SPARQL_URL",
        "SPARQL_QUERY_URL",
        "SPARQL_UPDATE_URL",
        "DASK_SCHEDULER",
        "SPARQL_TIMEOUT_S",
        "SPARQL_ROW_LIMIT",
        "MAX_UPLOAD_MB",
        "GATE_SINGLING_OUT",
        "GATE_SMALL_COUNT_K",
    ]
)
setting_values = st.one_of(
    tricky_text,
    numbers,
    st.sampled_from(
        ["production", "http://", "https://x.org", "postgresql://u@h/db", "inf"]
        + ["nan", "1e400", "10.5072/x", "ark:/1", "tcp://h:1", "sqlite:///x"]
    ),
)


@FUZZ
@given(env=st.dictionaries(setting_names, setting_values, max_size=4))
def test_settings_load_or_name_the_variable(tmp_path, env):
    assume("HOME" not in env)
    full = {
        "CARDIOFAIR_HOME": str(tmp_path),
        **{f"CARDIOFAIR_{k}": v for k, v in env.items()},
    }
    try:
        loaded = load_settings(full)
    except SettingsError as exc:
        assert "CARDIOFAIR_" in str(exc)
        return
    assert isinstance(loaded, Settings)
    assert 0.1 <= loaded.sparql_timeout_s <= 600
    assert loaded.max_upload_bytes >= 1024 * 1024


# Cohort spec --------------------------------------------------------------

toml_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.lists(st.lists(st.floats(-2, 2), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*path, key))
    yield path


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value


@FUZZ
@given(data=st.data())
def test_cohort_specs_load_or_raise_spec_errors(data):
    doc = tomllib.loads(COHORT_SPEC)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _leaves(doc) if p]
        if not paths:
            break
        _set(doc, data.draw(st.sampled_from(paths)), data.draw(toml_values))
    try:
        spec = from_dict(doc)
    except SpecError as exc:
        assert str(exc).startswith("<spec>")
        return
    assert isinstance(spec, CohortSpec)


@FUZZ
@given(text=st.one_of(st.text(), tricky_text.map(lambda t: COHORT_SPEC + t)))
def test_cohort_spec_text_loads_or_raises_a_spec_error(text):
    try:
        loads(text)
    except SpecError:
        pass


def test_the_cohort_spec_fuzzing_starts_from_a_valid_spec():
    doc = tomllib.loads(COHORT_SPEC)
    assert isinstance(loads(tomli_w.dumps(doc)), CohortSpec)
