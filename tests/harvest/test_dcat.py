"""The DCAT catalog: Hydra paging to the end, the dump, and the DCAT-AP 3 shapes."""

from __future__ import annotations

import httpx
import pyshacl
import pytest
import rdflib
from rdflib.namespace import DCAT, RDF, SH

from tests.harvest.conftest import schema_file

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")


@pytest.fixture(scope="module")
def dcat_ap_shapes() -> rdflib.Graph:
    """The consolidated DCAT-AP 3.0.1 shapes, without the two property shapes
    they reference but never define."""
    shapes = rdflib.Graph().parse(
        schema_file("shapes", "dcat-ap-3.0.1", "dcat-ap-SHACL.ttl")
    )
    for shape, prop in list(shapes.subject_objects(SH.property)):
        if (prop, None, None) not in shapes:
            shapes.remove((shape, SH.property, prop))
    return shapes


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
    listed = [o for page in pages for o in page.objects(catalog, DCAT.dataset)]
    assert len(listed) == len(set(listed)) == len(service.populated.datasets)
    last = pages[-1].value(
        next(pages[-1].subjects(RDF.type, HYDRA.PartialCollectionView)), HYDRA.previous
    )
    assert last is not None


def test_pages_conform_to_the_dcat_ap_3_shapes(service, dcat_ap_shapes):
    graph = _get(service, f"{service.base}/catalog?page_size=8")
    conforms, _, text = pyshacl.validate(
        graph, shacl_graph=dcat_ap_shapes, inference="rdfs", allow_warnings=True
    )
    assert conforms, text


def test_restricted_files_are_never_listed(service):
    response = httpx.get(f"{service.base}/catalog/dump")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    titles = {
        str(graph.value(d, rdflib.namespace.DCTERMS.title))
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
    releases = set(graph.subjects(rdflib.namespace.DCTERMS.isVersionOf, None))
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
