"""Security properties of the running service.

Tokens: every route of the maintainers' API refuses missing, malformed,
wrong-secret, unknown and revoked tokens, and tokens of another organisation,
and nothing changes when it refuses (``tests/releases/test_api.py`` checks the
texts and audit entries of the same refusals on the publish route). Restricted
files are never downloadable and never named in any public view. Every HTML
response carries the security headers. No serialisation reaches the network
for a JSON-LD context. Public endpoints refuse large bodies.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from pyld import jsonld
from sqlalchemy import func, select, text

from catalog import releases
from catalog.auth import create_user, issue_token, revoke_token
from catalog.db.models import ApiToken, Dataset, Organization, Release, ReleaseFile
from catalog.negotiation import FORMATS
from catalog.security import PUBLIC_BODY_BYTES
from tests.releases.support import write_release_folder, write_splits
from tests.reliability.conftest import RESTRICTED_SLUG, build_catalog, publish_folder

PUBLIC_SLUG = "public-lifecycle-ecgs"
UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """The reliability catalog with a 1 MB upload limit, a draft and a public
    release of the lab's own, and a revoked token."""
    root = tmp_path_factory.mktemp("security")
    built = build_catalog(
        root / "home", root / "work", CARDIOFAIR_MAX_UPLOAD_MB=str(UPLOAD_LIMIT_MB)
    )
    sessions, settings, ana = built.sessions, built.settings, built.actors.ana
    with sessions() as session:
        releases.create_dataset(
            session, ana, slug=PUBLIC_SLUG, title="Public synthetic ECGs (tests)"
        )
    splits = write_splits(root / "splits")
    folder = write_release_folder(root / "public", seed=21)
    publish_folder(sessions, settings, ana, PUBLIC_SLUG, folder, splits)
    with sessions() as session:
        built.draft_id = releases.create_release(
            session, settings, ana, PUBLIC_SLUG, folder=folder
        ).id
        built.published_id = session.scalar(
            select(Release.id).join(Dataset).where(Dataset.slug == PUBLIC_SLUG)
            .where(Release.version == 1)
        )  # fmt: skip
    with sessions() as session, session.begin():
        lab = session.scalar(select(Organization).where(Organization.slug == "lab"))
        user = create_user(session, "rita@lab.example", "Rita", lab, "maintainer")
        _, built.revoked_token = issue_token(session, user, "revoked")
        revoke_token(session, built.revoked_token.split("_")[1])
    yield built
    built.app.state.sparql.close()
    built.app.state.triples.close()
    built.app.state.engine.dispose()


# Tokens -------------------------------------------------------------------


def _bad_tokens(catalog) -> dict[str, tuple[dict, int]]:
    lookup = catalog.actors.ana_token.split("_")[1]
    wrong_secret = f"cf_{lookup}_{'A' * 43}"
    unknown = f"cf_{'0' * 12}_{'B' * 43}"
    bearer = {
        "missing": ({}, 401),
        "malformed": ({"Authorization": "Bearer cf_nope"}, 401),
        "not bearer": ({"Authorization": f"Basic {catalog.actors.ana_token}"}, 401),
        "wrong secret": ({"Authorization": f"Bearer {wrong_secret}"}, 401),
        "unknown": ({"Authorization": f"Bearer {unknown}"}, 401),
        "revoked": ({"Authorization": f"Bearer {catalog.revoked_token}"}, 401),
        "foreign": ({"Authorization": f"Bearer {catalog.actors.bob_token}"}, 403),
    }
    return bearer


def _api_operations(catalog) -> list[tuple[str, str]]:
    found = []
    for path, item in catalog.app.openapi()["paths"].items():
        if path.startswith("/api/v1/"):
            found += [(method.upper(), path) for method in item]
    return found


def _request_for(catalog, method: str, path: str) -> dict:
    url = (
        path.replace("{slug}", PUBLIC_SLUG)
        .replace("{path}", "features.csv")
        .replace(
            "{release_id}",
            catalog.published_id if path.endswith("withdraw") else catalog.draft_id,
        )
    )
    kwargs: dict = {"method": method, "url": url}
    if path.endswith(("/releases", "/files")) and method == "POST":
        kwargs["files"] = [("files", ("extra.csv", b"a,b\n1,2\n"))]
    elif path.endswith("/withdraw"):
        kwargs["json"] = {"reason": "test"}
    elif path.endswith("/datasets"):
        kwargs["json"] = {"slug": "intruder-dataset", "title": "Intruder"}
    elif method == "PATCH":
        kwargs["json"] = {"version_notes": "changed by an intruder"}
    return kwargs


def _state(catalog) -> tuple:
    with catalog.sessions() as session:
        return (
            session.scalar(select(func.count(Dataset.id))),
            tuple(
                session.execute(
                    select(Release.id, Release.state, Release.content_digest).order_by(
                        Release.id
                    )
                ).all()
            ),
            session.scalar(select(func.count(ReleaseFile.id))),
        )


def test_every_api_route_refuses_bad_tokens_and_changes_nothing(catalog, client):
    operations = _api_operations(catalog)
    writes = [op for op in operations if op[0] in ("POST", "PATCH", "DELETE")]
    assert len(writes) >= 7, operations
    before = _state(catalog)
    for method, path in operations:
        for kind, (headers, status) in _bad_tokens(catalog).items():
            if kind == "foreign" and path == "/api/v1/datasets":
                continue  # creating a dataset in one's own organisation is allowed
            request = _request_for(catalog, method, path)
            response = client.request(**request, headers=headers)
            assert response.status_code == status, (kind, method, path, response.text)
            assert set(response.json()) == {"detail"}
    assert _state(catalog) == before


def test_a_valid_token_is_accepted_on_the_same_requests(catalog, client):
    """The control for the refusals above: the requests themselves are sound."""
    token = {"Authorization": f"Bearer {catalog.actors.ana_token}"}
    request = _request_for(catalog, "PATCH", "/api/v1/releases/{release_id}")
    assert client.request(**request, headers=token).status_code == 200


def test_token_secrets_are_stored_only_as_hashes(catalog):
    secrets = [catalog.actors.ana_token, catalog.actors.bob_token]
    with catalog.sessions() as session:
        rows = session.execute(select(ApiToken.__table__)).all()
        rows += session.execute(text("SELECT * FROM audit_event")).all()
    stored = json.dumps([list(map(str, row)) for row in rows])
    assert len(rows) > 3
    for token in secrets:
        assert token.rsplit("_", 1)[1] not in stored


# Restricted files -----------------------------------------------------------


def _restricted_markers(catalog) -> list[str]:
    """Every restricted file's checksum, file node and download path."""
    with catalog.sessions() as session:
        rows = session.execute(
            select(Dataset.slug, Release.version, ReleaseFile.path, ReleaseFile.sha256)
            .join(Release, Release.id == ReleaseFile.release_id)
            .join(Dataset, Dataset.id == Release.dataset_id)
            .where(ReleaseFile.restricted.is_(True))
        ).all()
        public = set(
            session.scalars(
                select(ReleaseFile.sha256).where(ReleaseFile.restricted.is_(False))
            )
        )
    assert len({row.slug for row in rows}) == len(catalog.made.restricted) + 1
    markers = []
    for row in rows:
        release = f"/dataset/{row.slug}/v{row.version}"
        markers += [f"{release}/files/{row.path}", f"{release}#file-{row.sha256[:16]}"]
        if row.sha256 not in public:  # the same bytes may be public elsewhere
            markers.append(row.sha256)
    assert len(markers) > 2 * len(rows)
    return markers


def _public_sha(catalog) -> str:
    with catalog.sessions() as session:
        return session.scalar(
            select(ReleaseFile.sha256)
            .join(Release)
            .join(Dataset)
            .where(Dataset.slug == PUBLIC_SLUG, Release.version == 1)
            .where(ReleaseFile.path == "features.csv")
        )


def _oai_pages(client, prefix: str):
    params = {"verb": "ListRecords", "metadataPrefix": prefix}
    while True:
        page = client.get("/oai", params=params).text
        yield page
        token = page.split("<resumptionToken", 1)[-1].split(">", 1)[-1]
        token = token.split("</resumptionToken", 1)[0] if "</" in token else ""
        if not token or "<" in token:
            return
        params = {"verb": "ListRecords", "resumptionToken": token}


def _public_views(catalog, client):
    """Every public document that describes files."""
    yield "/catalog/dump", client.get("/catalog/dump").text
    for key in ("turtle", "jsonld", "rdfxml", "ntriples"):
        page = client.get("/catalog", params={"page_size": 1000, "format": key})
        yield f"/catalog {key}", page.text
    for slug in [*catalog.made.restricted, RESTRICTED_SLUG, PUBLIC_SLUG]:
        for uri in (f"/dataset/{slug}", f"/dataset/{slug}/v1"):
            for fmt in FORMATS:
                yield uri + fmt.suffix, client.get(uri + fmt.suffix).text
    for prefix in ("oai_dc", "oai_datacite", "dcat_ap"):
        for number, page in enumerate(_oai_pages(client, prefix)):
            yield f"OAI {prefix} page {number}", page
    search = client.get("/api/3/action/package_search", params={"rows": 1000})
    yield "package_search", search.text
    for slug in [*catalog.made.restricted, RESTRICTED_SLUG]:
        shown = client.get("/api/3/action/package_show", params={"id": slug})
        yield f"package_show {slug}", shown.text
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    yield "SPARQL", client.get("/sparql", params={"query": construct}).text
    yield "search page", client.get("/search", params={"q": "restricted"}).text


def test_restricted_files_are_listed_in_no_public_view(catalog, client):
    markers = _restricted_markers(catalog)
    public = _public_sha(catalog)
    seen_public = set()
    for name, body in _public_views(catalog, client):
        leaked = [m for m in markers if m in body]
        assert not leaked, f"{name} names restricted files: {leaked[:3]}"
        if public in body:
            seen_public.add(name.split()[0])
    # The control: public files are listed, so the search above can find files.
    assert {"/catalog/dump", "/catalog", "package_search", "SPARQL"} <= seen_public


def test_restricted_files_are_never_served(catalog, client):
    store = catalog.settings.files_dir
    for path, sha256 in catalog.restricted_files:
        content = next(store.glob(f"**/{sha256[2:]}*")).read_bytes()
        for variant in (path, path.replace("/v1/", "/v01/"), path + "?download=1"):
            response = client.get(variant)
            assert response.status_code == 404, variant
            assert content not in response.content
    public = client.get(f"/dataset/{PUBLIC_SLUG}/v1/files/features.csv")
    assert public.status_code == 200 and public.content.startswith(b"age,")


# Headers --------------------------------------------------------------------


def _html_addresses(catalog) -> list[str]:
    slug, version = catalog.made.withdrawn[0]
    return [
        "/",
        "/search",
        "/search?q=ecg&page=2",
        "/organization/lab",
        f"/dataset/{PUBLIC_SLUG}",
        f"/dataset/{PUBLIC_SLUG}/v1",
        f"/dataset/{slug}/v{version}",
        f"/dataset/{RESTRICTED_SLUG}",
        "/dataset/no-such-dataset",
        "/no/such/page",
        "/catalog",
    ]


def test_every_html_response_carries_the_security_headers(catalog, client):
    for address in _html_addresses(catalog):
        response = client.get(address, headers={"Accept": "text/html"})
        assert response.headers["content-type"].startswith("text/html"), address
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in policy, address
        assert "frame-ancestors 'none'" in policy, address
        assert "script-src 'self'" in policy and "unsafe" not in policy, address
        assert response.headers.get("x-content-type-options") == "nosniff", address
        assert response.headers.get("x-frame-options") == "DENY", address


def test_machine_responses_are_not_sniffed_or_framed(client):
    for address in (
        "/health",
        "/oai?verb=Identify",
        "/sparql?query=ASK%7B%7D",
        "/api/3/action/status_show",
        "/catalog.ttl",
        "/api/v1/datasets/x",
    ):
        response = client.get(address)
        assert response.headers.get("x-content-type-options") == "nosniff", address
        assert response.headers.get("x-frame-options") == "DENY", address


# JSON-LD contexts -------------------------------------------------------------


class NetworkBlocked(OSError):
    pass


@pytest.fixture
def offline(monkeypatch):
    """Refuse and record every connection or name lookup beyond loopback."""
    attempts: list[str] = []
    connect = socket.socket.connect
    lookup = socket.getaddrinfo

    def loopback(host) -> bool:
        return str(host) in ("127.0.0.1", "::1", "localhost")

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not loopback(
            address[0]
        ):
            attempts.append(f"connect {address}")
            raise NetworkBlocked(f"network access to {address} in a test")
        return connect(sock, address)

    def guarded_lookup(host, *args, **kwargs):
        if not loopback(host):
            attempts.append(f"lookup {host}")
            raise socket.gaierror(f"name lookup of {host} in a test")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    return attempts


def _contexts(document) -> list:
    if isinstance(document, list):
        return [c for item in document for c in _contexts(item)]
    if not isinstance(document, dict):
        return []
    found = [document["@context"]] if "@context" in document else []
    return found + [c for value in document.values() for c in _contexts(value)]


def _remote(context) -> bool:
    if isinstance(context, str):
        return True
    if isinstance(context, list):
        return any(_remote(c) for c in context)
    return False


def _landing_json_ld(html: str) -> dict:
    start = html.index('<script type="application/ld+json">') + 35
    return json.loads(html[start : html.index("</script>", start)])


def _json_ld_documents(catalog, client):
    for uri in (f"/dataset/{PUBLIC_SLUG}", f"/dataset/{PUBLIC_SLUG}/v1"):
        for fmt in FORMATS:
            response = client.get(uri + fmt.suffix)
            assert response.status_code == 200, (uri, fmt.key)
            if fmt.key == "jsonld":
                yield uri, response.json()
        yield f"{uri} page", _landing_json_ld(client.get(uri).text)
    for key in ("turtle", "jsonld", "rdfxml", "ntriples"):
        response = client.get("/catalog", params={"format": key})
        assert response.status_code == 200, key
        if key == "jsonld":
            yield "/catalog", response.json()
    for prefix in ("oai_dc", "oai_datacite", "dcat_ap"):
        assert "<error" not in next(_oai_pages(client, prefix))
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 200"
    response = client.get(
        "/sparql",
        params={"query": construct},
        headers={"Accept": "application/ld+json"},
    )
    assert response.status_code == 200
    yield "SPARQL", response.json()


def test_no_json_ld_context_is_fetched_while_serialising(catalog, client, offline):
    documents = list(_json_ld_documents(catalog, client))
    for name, document in documents:
        remote = [c for c in _contexts(document) if _remote(c)]
        assert not remote, f"{name} points at remote contexts {remote}"
        quads = jsonld.to_rdf(document, {"format": "application/n-quads"})
        assert quads.count("\n") > 3, name
    assert len(documents) >= 6
    assert offline == [], offline


def test_the_network_guard_catches_a_remote_context(offline):
    """The control for the test above: a remote context would be noticed."""
    document = {"@context": "https://schema.org/", "@type": "Dataset", "name": "x"}
    with pytest.raises(jsonld.JsonLdError):
        jsonld.to_rdf(document, {"format": "application/n-quads"})
    assert offline and "schema.org" in offline[0]


# Request sizes ----------------------------------------------------------------


def _streamed(size: int):
    sent = 0
    while sent < size:
        yield b"x" * 65536
        sent += 65536


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/sparql", "application/sparql-query"),
        ("/sparql", "application/x-www-form-urlencoded"),
        ("/oai", "application/x-www-form-urlencoded"),
        ("/api/action/package_search", "application/json"),
        ("/api/3/action/package_search", "application/x-www-form-urlencoded"),
    ],
)
def test_public_endpoints_refuse_large_bodies(client, path, content_type):
    size = PUBLIC_BODY_BYTES + 65536
    headers = {"Content-Type": content_type}
    declared = client.post(path, content=b"x" * size, headers=headers)
    assert declared.status_code == 413, declared.text[:200]
    streamed = client.post(path, content=_streamed(size), headers=headers)
    assert streamed.status_code == 413, streamed.text[:200]
    small = client.post(path, content=b"verb=Identify", headers=headers)
    assert small.status_code < 500


def test_an_upload_over_the_limit_leaves_nothing_behind(catalog, client):
    token = {"Authorization": f"Bearer {catalog.actors.ana_token}"}
    files_dir = Path(catalog.settings.files_dir)
    before = sorted(p for p in files_dir.rglob("*") if p.is_file())
    release_count = _state(catalog)
    big = b"y" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1)
    response = client.post(
        f"/api/v1/datasets/{PUBLIC_SLUG}/releases",
        files=[("files", ("small.csv", b"a\n1\n")), ("files", ("big.dat", big))],
        headers=token,
    )
    assert response.status_code == 413
    assert sorted(p for p in files_dir.rglob("*") if p.is_file()) == before
    assert _state(catalog) == release_count
    ok = httpx.codes.is_success(client.get("/health").status_code)
    assert ok
