"""Many readers while a maintainer publishes: no error, no half-published release.

A maintainer publishes a first release of several datasets through the HTTP
API and leaves a gated second release of each as a draft, while reader threads
ask every view at random: the release's RDF, the landing page, CKAN's
``package_show`` and ``package_search``, OAI-PMH ``GetRecord`` and lists,
SPARQL on the dataset's named graph, and the DCAT catalog. Every answer must be
a success or a clean "not there yet" (404, or OAI-PMH's ``idDoesNotExist``).
Whenever a view shows a release, it must show all of it: its identifier and
every one of its files' checksums. A draft's identifier and files must never
show anywhere. The same run happens on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.releases.support import write_release_folder, write_splits
from tests.reliability.conftest import build_catalog
from tests.support.server import free_port, live_server

N_PUBLISHED = 5
N_READERS = 4
ID_PREFIX = "10.5072/cardiofair"


@dataclass
class Expected:
    """What the maintainer made, for the readers to check against."""

    slugs: list[str]
    files: dict[str, set[str]] = field(default_factory=dict)  # slug -> v1 sha256s
    draft_only: dict[str, set[str]] = field(default_factory=dict)  # slug -> sha256s


def _shas(folder: Path) -> set[str]:
    return {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


def _multipart(folder: Path):
    return [
        ("files", (p.relative_to(folder).as_posix(), p.read_bytes()))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


class Maintainer:
    def __init__(self, client: httpx.Client, token: str, home: Path, work: Path):
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}
        self.work = work
        write_splits(home / "sources")
        self.expected = Expected([f"concurrent-ecgs-{k}" for k in range(N_PUBLISHED)])
        folders = {}
        for k, slug in enumerate(self.expected.slugs):
            for version in (1, 2):
                folder = write_release_folder(
                    work / slug / f"v{version}", seed=100 * version + k
                )
                (folder / "README.txt").write_text(f"{slug} version {version}\n")
                folders[slug, version] = _shas(folder)
        # WFDB records repeat between releases (content addressing shares them):
        # a release is recognised by the checksums no other release has.
        for slug, version in folders:
            others = set().union(
                *(v for k, v in folders.items() if k != (slug, version))
            )
            unique = folders[slug, version] - others
            assert len(unique) >= 3
            target = self.expected.files if version == 1 else self.expected.draft_only
            target[slug] = unique

    def _call(self, method: str, url: str, **kwargs) -> dict:
        response = self.client.request(method, url, headers=self.auth, **kwargs)
        assert response.status_code in (200, 201), (url, response.text)
        return response.json()

    def _release(self, slug: str, version: int) -> str:
        folder = self.work / slug / f"v{version}"
        release = self._call(
            "POST", f"/api/v1/datasets/{slug}/releases", files=_multipart(folder)
        )
        splits = {"real": "sources/real_train.csv", "control": "sources/control.csv"}
        gated = self._call(
            "POST", f"/api/v1/releases/{release['id']}/gate", json=splits
        )
        assert gated["state"] == "passed", gated
        return release["id"]

    def run(self) -> None:
        for slug in self.expected.slugs:
            body = {"slug": slug, "title": f"Concurrent synthetic ECGs {slug}"}
            self._call("POST", "/api/v1/datasets", json=body)
            first = self._release(slug, 1)
            published = self._call("POST", f"/api/v1/releases/{first}/publish")
            assert published["identifier"] == f"{ID_PREFIX}/{slug}.v1"
            self._release(slug, 2)


class Reader:
    """Asks the views at random and checks every answer."""

    def __init__(self, base: str, expected: Expected, seed: int):
        self.client = httpx.Client(base_url=base, timeout=60)
        self.expected = expected
        self.rng = random.Random(seed)
        self.seen: dict[str, int] = {}
        self.views = [
            self.release_rdf,
            self.landing_page,
            self.package_show,
            self.package_search,
            self.oai_record,
            self.oai_list,
            self.sparql_graph,
            self.dcat_catalog,
        ]

    def check_complete(self, view: str, slug: str, text: str) -> None:
        """If ``text`` shows the slug's first release, it shows all of it."""
        for sha in self.expected.draft_only[slug]:
            assert sha not in text, f"{view}: a draft file of {slug} is visible"
        assert f"{slug}.v2" not in text, f"{view}: the draft {slug} v2 is visible"
        identifier = f"{ID_PREFIX}/{slug}.v1"
        shown = [sha for sha in self.expected.files[slug] if sha in text]
        if identifier in text or shown:
            missing = len(self.expected.files[slug]) - len(shown)
            assert identifier in text, f"{view}: {slug} v1 files without identifier"
            assert not missing, f"{view}: {slug} v1 shown without {missing} files"
            self.seen[view] = self.seen.get(view, 0) + 1

    def get(self, url: str, allowed=(200,), **kwargs) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        assert response.status_code in allowed, (url, response.status_code)
        return response

    def release_rdf(self, slug: str) -> None:
        response = self.get(f"/dataset/{slug}/v1.nt", allowed=(200, 404))
        self.check_complete("release RDF", slug, response.text)
        if response.status_code == 200:
            assert f"{ID_PREFIX}/{slug}.v1" in response.text

    def landing_page(self, slug: str) -> None:
        response = self.get(f"/dataset/{slug}", allowed=(200, 404))
        if response.status_code == 200:
            assert f"{slug}.v1" in response.text

    def package_show(self, slug: str) -> None:
        params = {"id": slug}
        response = self.get("/api/3/action/package_show", (200, 404), params=params)
        self.check_complete("package_show", slug, response.text)

    def package_search(self, slug: str) -> None:
        params = {"q": "Concurrent", "rows": 100}
        response = self.get("/api/3/action/package_search", params=params)
        for other in self.expected.slugs:
            self.check_complete("package_search", other, response.text)

    def oai_record(self, slug: str) -> None:
        params = {
            "verb": "GetRecord",
            "metadataPrefix": "dcat_ap",
            "identifier": f"oai:127.0.0.1:{slug}/v1",
        }
        text = self.get("/oai", params=params).text
        if "<error" in text:
            assert 'code="idDoesNotExist"' in text, text[:500]
        self.check_complete("OAI GetRecord", slug, text)

    def oai_list(self, slug: str) -> None:
        params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
        text = self.get("/oai", params=params).text
        assert "<error" not in text
        assert f"{slug}/v2" not in text

    def sparql_graph(self, slug: str) -> None:
        query = (
            "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH "
            f"<http://127.0.0.1:8000/dataset/{slug}> {{ ?s ?p ?o }} }}"
        )
        headers = {"Accept": "application/n-triples"}
        text = self.get("/sparql", params={"query": query}, headers=headers).text
        self.check_complete("SPARQL", slug, text)

    def dcat_catalog(self, slug: str) -> None:
        text = self.get("/catalog.nt", params={"page_size": 1000}).text
        for other in self.expected.slugs:
            self.check_complete("DCAT catalog", other, text)

    def run(self, stop: threading.Event, failures: list) -> None:
        try:
            while not stop.is_set():
                slug = self.rng.choice(self.expected.slugs)
                self.rng.choice(self.views)(slug)
        except BaseException as exc:  # reported by the test's own thread
            failures.append(exc)
        finally:
            self.client.close()


def _run_readers(base: str, expected: Expected, work) -> list[Reader]:
    stop, failures = threading.Event(), []
    readers = [Reader(base, expected, seed) for seed in range(N_READERS)]
    threads = [threading.Thread(target=r.run, args=(stop, failures)) for r in readers]
    for thread in threads:
        thread.start()
    try:
        work()
        time.sleep(0.5)  # let the derived views catch up while readers read
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    if failures:
        raise failures[0]
    return readers


@pytest.mark.slow
def test_readers_never_see_an_error_or_a_half_published_release(database_url, tmp_path):
    built = build_catalog(
        tmp_path / "home",
        tmp_path / "work",
        n_datasets=12,
        CARDIOFAIR_DATABASE_URL=database_url,
    )
    port = free_port()
    try:
        with (
            live_server(built.app, port) as base,
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            maintainer = Maintainer(
                client, built.actors.ana_token, built.settings.home, tmp_path / "out"
            )
            readers = _run_readers(base, maintainer.expected, maintainer.run)
            final = Reader(base, maintainer.expected, seed=99)
            with final.client:
                for slug in maintainer.expected.slugs:
                    for view in final.views:
                        view(slug)
    finally:
        built.app.state.sparql.close()
        built.app.state.triples.close()
        built.app.state.engine.dispose()
    # Every view showed complete releases, during the run or at the end.
    seen = {view for reader in (*readers, final) for view in reader.seen}
    assert seen >= {
        "release RDF",
        "package_show",
        "package_search",
        "OAI GetRecord",
        "SPARQL",
        "DCAT catalog",
    }, seen
    during = sum(sum(reader.seen.values()) for reader in readers)
    assert during > 0, "the readers saw no release while the maintainer worked"
