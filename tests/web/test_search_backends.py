"""Search and the CKAN Action API on SQLite and on PostgreSQL.

The same catalog of 42 datasets is indexed on each backend; index ``i`` is
owned by organisation ``i % 3``, has pathology ``i % 7`` and the TECH theme
when ``i % 3 == 0``, so every expected count follows from the seed catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from catalog import releases, search
from catalog.app import create_app
from catalog.db.models import Dataset, Organization, SearchDoc, SearchFacet
from catalog.settings import load_settings
from tests.releases.support import (
    make_actors,
    publish_folder,
    write_release_folder,
    write_splits,
)
from tests.support.catalog_data import ORGANISATIONS, populate
from tests.support.server import live_server

N_DATASETS = 42
ORGS = [slug for slug, _ in ORGANISATIONS]


@dataclass
class Served:
    app: object
    http: httpx.Client

    def get(self, path: str, **params) -> httpx.Response:
        return self.http.get(path, params=params)


@pytest.fixture
def catalog(database_url, tmp_path):
    settings = load_settings(
        {
            "CARDIOFAIR_HOME": str(tmp_path / "home"),
            "CARDIOFAIR_DATABASE_URL": database_url,
        }
    )
    app = create_app(settings, migrate=True)
    with app.state.sessions() as session:
        populate(session, settings, n_datasets=N_DATASETS)
        search.rebuild(session, settings.base_url)
        session.commit()
    with live_server(app) as base, httpx.Client(base_url=base) as http:
        yield Served(app, http)


def action(client, name: str, **params) -> dict:
    response = client.get(f"/api/3/action/{name}", **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["result"]


def walk(client, rows: int, **params) -> list[dict]:
    """Every result of a search, page after page, as a harvester reads them."""
    found, start = [], 0
    while True:
        page = action(client, "package_search", rows=rows, start=start, **params)
        if not page["results"]:
            return found
        found += page["results"]
        start += rows


def dataset_ids(client, *orgs: str) -> list[str]:
    """Ids of the datasets of these organisations, read from the database."""
    app = client.app
    with app.state.sessions() as session:
        stmt = select(Dataset.id).join(Organization).where(Organization.slug.in_(orgs))
        return sorted(session.scalars(stmt))


def test_text_search_counts_the_matching_datasets(catalog):
    for word, expected in (("hypertrophy", 6), ("fibrillation", 6), ("ecg", 42)):
        result = action(catalog, "package_search", q=word, rows=3)
        assert result["count"] == expected, word
        assert len(result["results"]) == 3
    assert action(catalog, "package_search", q="nonexistentword")["count"] == 0


def test_relevance_pages_neither_repeat_nor_skip(catalog):
    paged = [p["id"] for p in walk(catalog, 5, q="block")]
    whole = action(catalog, "package_search", q="block", rows=100)
    assert paged == [p["id"] for p in whole["results"]]
    assert len(paged) == len(set(paged)) == whole["count"] == 18


def test_facet_filters_and_exclusions(catalog):
    both = f"organization:{ORGS[0]} OR organization:{ORGS[1]}"
    assert action(catalog, "package_search", fq=both)["count"] == 28
    assert (
        action(catalog, "package_search", fq=f"-organization:{ORGS[2]}")["count"] == 28
    )
    assert action(catalog, "package_search", fq="groups:tech")["count"] == 14
    narrowed = action(
        catalog, "package_search", q="fibrillation", fq=f"organization:{ORGS[0]}"
    )
    assert narrowed["count"] == 2
    facets = action(
        catalog, "package_search", fq="groups:tech", **{"facet.field": '["tags"]'}
    )["facets"]["tags"]
    assert facets["ECG"] == 14


@pytest.mark.parametrize(
    ("fq", "owners"),
    [
        ("", (0, 1, 2)),
        ("organization:{0} OR organization:{1}", (0, 1)),
        ("-organization:{2}", (0, 1)),
    ],
    ids=["everything", "two organisations", "all but one organisation"],
)
def test_harvest_pages_by_id_match_the_database_order(catalog, fq, owners):
    params = {"sort": "id asc", "fq": fq.format(*ORGS)}
    harvested = [p["id"] for p in walk(catalog, 5, **params)]
    assert harvested == dataset_ids(catalog, *(ORGS[i] for i in owners))
    # A page that starts between earlier pages is the same slice.
    page = action(catalog, "package_search", rows=5, start=12, **params)
    assert [p["id"] for p in page["results"]] == harvested[12:17]
    backwards = action(catalog, "package_search", rows=100, sort="id desc")
    assert [p["id"] for p in backwards["results"]] == dataset_ids(catalog, *ORGS)[::-1]


def test_far_pages_by_id_are_the_same_slices_as_a_walk(catalog, monkeypatch):
    monkeypatch.setattr(search, "FILL_AFTER", 3)
    monkeypatch.setattr(search, "POINT_STEP", 4)
    params = {"sort": "id asc", "fq": f"-organization:{ORGS[1]}"}
    harvested = [p["id"] for p in walk(catalog, 50, **params)]
    assert harvested == dataset_ids(catalog, ORGS[0], ORGS[2])
    for start in (25, 9, 26, 3, 27):
        page = action(catalog, "package_search", rows=3, start=start, **params)
        assert [p["id"] for p in page["results"]] == harvested[start : start + 3]


def test_harvest_pages_with_a_date_and_an_exclusion_match_the_database(catalog):
    with catalog.app.state.sessions() as session:
        moments = sorted(session.scalars(select(SearchDoc.metadata_modified)))
        since = moments[len(moments) // 2]
        stmt = (
            select(SearchDoc.dataset_id)
            .where(
                SearchDoc.metadata_modified >= since,
                SearchDoc.organization != ORGS[1],
            )
            .order_by(SearchDoc.dataset_id)
        )
        expected = list(session.scalars(stmt))
    assert 0 < len(expected) < N_DATASETS // 2
    params = {
        "sort": "id asc",
        "fq": f"metadata_modified:[{since.isoformat()}Z TO *] -organization:{ORGS[1]}",
    }
    assert [p["id"] for p in walk(catalog, 2, **params)] == expected
    params["sort"] = "name desc"
    names = sorted((p["name"] for p in walk(catalog, 50, **params)), reverse=True)
    page = action(catalog, "package_search", rows=3, start=1, **params)
    assert page["count"] == len(expected)
    assert [p["name"] for p in page["results"]] == names[1:4]


@pytest.mark.parametrize(
    "query",
    [
        search.Query(),
        search.Query(include=(("organization", (ORGS[0], ORGS[2])),)),
        search.Query(exclude=(("theme", ("tech",)),)),
        search.Query(q="block", exclude=(("organization", (ORGS[1],)),)),
    ],
    ids=["no filter", "two organisations", "all but a theme", "text and a filter"],
)
def test_facet_counts_match_a_grouped_count_in_the_database(catalog, query):
    with catalog.app.state.sessions() as session:
        dialect = session.get_bind().dialect.name
        matching = select(SearchDoc.id).where(*search._conditions(query, dialect))
        for name in search.FACETS:
            n = func.count().label("n")
            stmt = (
                select(SearchFacet.value, n)
                .where(SearchFacet.facet == name, SearchFacet.doc_id.in_(matching))
                .group_by(SearchFacet.value)
                .order_by(n.desc(), SearchFacet.value)
            )
            expected = [tuple(row) for row in session.execute(stmt)]
            assert search.facet_counts(session, query, name, limit=-1) == expected
            assert search.facet_counts(session, query, name, limit=2) == expected[:2]


def test_every_facet_value_is_listed_for_a_negative_facet_limit(catalog):
    params = {"facet.field": '["tags", "organization"]', "facet.limit": -1}
    facets = action(catalog, "package_search", **params)["facets"]
    assert len(facets["organization"]) == 3
    assert facets["tags"]["ECG"] == N_DATASETS
    texts = action(catalog, "package_search", q="block", **params)["facets"]
    assert sum(texts["organization"].values()) == 18


def test_modified_order_and_package_show_agree(catalog):
    result = action(catalog, "package_search", sort="metadata_modified desc", rows=50)
    moments = [p["metadata_modified"] for p in result["results"]]
    assert moments == sorted(moments, reverse=True) and len(moments) == 42
    first = result["results"][0]
    assert action(catalog, "package_show", id=first["name"]) == first
    assert action(catalog, "package_show", id=first["id"]) == first
    assert first["resources"] and first["organization"]["name"] in ORGS


def test_bad_queries_get_ckan_errors(catalog):
    response = catalog.get("/api/3/action/package_search", fq="nosuchfield:x")
    assert response.status_code == 400
    assert response.json()["error"]["__type"] == "Search Query Error"
    response = catalog.get("/api/3/action/package_show", id="nobody")
    assert response.status_code == 404
    assert response.json()["error"]["__type"] == "Not Found Error"


def _publish(client, actor, slug: str, work) -> str:
    app, settings = client.app, client.app.state.settings
    splits = write_splits(work / "splits")
    folder = write_release_folder(work / slug, seed=5)
    release = publish_folder(app.state.sessions, settings, actor, slug, folder, splits)
    return release.id


def test_the_index_follows_publication_and_withdrawal(catalog, tmp_path):
    app = catalog.app
    actors = make_actors(app.state.sessions)
    slug = "tachycardia-probe"
    with app.state.sessions() as session:
        releases.create_dataset(
            session,
            actors.ana,
            slug=slug,
            title="Supraventricular tachycardia probe cohort",
            description="Synthetic ECGs made for the search index tests.",
            keywords=["probe"],
        )
    assert action(catalog, "package_search", q="tachycardia")["count"] == 0

    release_id = _publish(catalog, actors.ana, slug, tmp_path)
    found = action(catalog, "package_search", q="tachycardia")
    assert [p["name"] for p in found["results"]] == [slug]
    assert action(catalog, "package_search", fq="organization:lab")["count"] == 1
    assert action(catalog, "package_show", id=slug)["version"] == "v1"
    assert action(catalog, "package_search")["count"] == N_DATASETS + 1

    with app.state.sessions() as session:
        releases.withdraw_release(
            session, app.state.settings, actors.ana, release_id, "Probe is over."
        )
    assert action(catalog, "package_search", q="tachycardia")["count"] == 0
    assert action(catalog, "package_search")["count"] == N_DATASETS
    gone = catalog.get("/api/3/action/package_show", id=slug)
    assert gone.status_code == 404
