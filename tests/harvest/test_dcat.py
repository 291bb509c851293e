"""The DCAT catalog: Hydra paging to the end, the dump, and the DCAT-AP 3 shapes."""

from __future__ import annotations

import httpx
import pytest
import rdflib

from catalog.routes.dcat import HYDRA
from metadata import shacl
from metadata.namespaces import DCAT, DCTERMS, RDF, SPDX


def _get(service, url: str, accept: str = "text/turtle") -> rdflib.Graph:
    response = httpx.get(url, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.text, format="turtle")


def _walk(service, size: int) -> list[rdflib.Graph]:
    pages = []
    url = f"{service.base}/catalog?page_size={size}"
    while url:
        pages.append(_get(service, url))
        views = list(pages[-1].subjects(RDF.type, HYDRA.PartialCollectionView))
        assert len(views) == 1
        following = pages[-1].value(views[0], HYDRA.next)
        url = str(following) if following is not None else None
        assert len(pages) < 100, "the next links loop"
    return pages


def test_hydra_next_links_reach_every_dataset_once(service):
    pages = _walk(service, 5)
    assert len(pages) == -(-len(service.populated.datasets) // 5)
    catalog = rdflib.URIRef(f"{service.settings.base_url}/catalog")
    series = [s for page in pages for s in page.subjects(RDF.type, DCAT.DatasetSeries)]
    assert len(series) == len(set(series)) == len(service.populated.datasets)
    listed = {o for page in pages for o in page.objects(catalog, DCAT.dataset)}
    assert len(listed) == service.populated.n_visible
    last = pages[-1].value(
        next(pages[-1].subjects(RDF.type, HYDRA.PartialCollectionView)), HYDRA.previous
    )
    assert last is not None


def test_pages_conform_to_the_dcat_ap_3_shapes(service):
    graph = _get(service, f"{service.base}/catalog?page_size=8")
    conforms, text = shacl.validate(graph, "dcat-ap-3.0.1")
    assert conforms, text


def test_restricted_files_are_never_listed(service):
    response = httpx.get(f"{service.base}/catalog/dump")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    titles = {
        str(graph.value(d, DCTERMS.title))
        for d in graph.subjects(RDF.type, DCAT.Distribution)
    }
    restricted = service.populated.restricted
    for slug in restricted:
        prefix = f"{service.settings.base_url}/dataset/{slug}/"
        files = {
            str(u)
            for u in graph.objects(None, DCAT.downloadURL)
            if str(u).startswith(prefix)
        }
        assert files and all(u.endswith("manifest.json") for u in files)
    assert {"features.csv", "records.zip", "manifest.json"} <= titles


def test_dump_holds_every_dataset_and_release(service):
    graph = rdflib.Graph().parse(
        data=httpx.get(f"{service.base}/catalog/dump").text, format="nt"
    )
    releases = set(graph.subjects(DCAT.isVersionOf, None))
    assert len(releases) == service.populated.n_visible
    checksums = list(graph.objects(None, SPDX.checksumValue))
    assert checksums and all(len(str(c)) == 64 for c in checksums)


@pytest.mark.parametrize(
    ("path", "accept", "media_type"),
    [
        ("/catalog.jsonld", "", "application/ld+json"),
        ("/catalog?format=rdfxml", "", "application/rdf+xml"),
        ("/catalog", "application/n-triples", "application/n-triples"),
        ("/catalog", "text/html", "text/html"),
    ],
)
def test_catalog_formats(service, path, accept, media_type):
    response = httpx.get(f"{service.base}{path}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize(
    ("query", "status"),
    [("page=0", 400), ("page=abc", 400), ("page_size=5000", 400), ("page=999", 404)],
)
def test_bad_paging_is_a_client_error(service, query, status):
    response = httpx.get(
        f"{service.base}/catalog?{query}", headers={"Accept": "text/turtle"}
    )
    assert response.status_code == status


def test_unknown_suffix_is_406_with_the_list(service):
    response = httpx.get(f"{service.base}/catalog.docx")
    assert response.status_code == 406
    assert "text/turtle" in response.text
