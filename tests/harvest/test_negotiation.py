"""Dataset and release URIs in every format, by suffix, parameter and Accept."""

from __future__ import annotations

import json

import bibtexparser
import httpx
import pytest
import rispy

from catalog.negotiation import FORMATS, NotAcceptable, decide_format, parse_accept
from metadata import xsd

SUFFIXES = {f.key: f.suffix for f in FORMATS}


def test_accept_header_order_and_quality():
    assert parse_accept("text/html;q=0.5, text/turtle, */*;q=0") == [
        ("text/turtle", 1.0),
        ("text/html", 0.5),
    ]
    offered = list(FORMATS)
    assert decide_format(offered, "application/rdf+xml;q=0.9, text/turtle").key == (
        "turtle"
    )
    assert decide_format(offered, None).key == "html"
    with pytest.raises(NotAcceptable):
        decide_format(offered, "image/png")


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f.key != "html"], ids=str)
@pytest.mark.parametrize("how", ["accept", "format", "suffix"])
def test_release_in_every_format(service, fmt, how):
    slug = service.populated.datasets[0]
    url, headers = f"{service.base}/dataset/{slug}/v1", {}
    if how == "accept":
        headers["Accept"] = fmt.media_type
    elif how == "format":
        url += f"?format={fmt.key}"
    else:
        url += fmt.suffix
    response = httpx.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(fmt.media_type)
    assert response.content


@pytest.mark.parametrize("version", ["", "/v1"], ids=["concept", "release"])
def test_datacite_xml_is_valid_kernel_4(service, version):
    slug = service.populated.datasets[2]
    body = httpx.get(f"{service.base}/dataset/{slug}{version}.xml").content
    xsd.validate(body, "datacite")


def test_citations_parse_with_their_readers(service):
    slug = service.populated.datasets[0]
    base = f"{service.base}/dataset/{slug}/v1"
    library = bibtexparser.parse_string(httpx.get(f"{base}.bib").text)
    assert len(library.entries) == 1 and library.entries[0]["version"] == "1"
    entries = rispy.loads(httpx.get(f"{base}.ris").text)
    assert entries[0]["type_of_reference"] == "DATA"
    items = json.loads(httpx.get(f"{base}.json").text)
    assert items[0]["DOI"].endswith(f"{slug}.v1")


def test_withdrawn_release_is_410_with_its_tombstone(service):
    slug, version = service.populated.withdrawn[0]
    response = httpx.get(
        f"{service.base}/dataset/{slug}/v{version}", headers={"Accept": "text/turtle"}
    )
    assert response.status_code == 410
    assert "WITHDRAWN" in response.text
    assert "downloadURL" not in response.text


def test_unavailable_format_is_406_listing_what_is(service):
    slug = service.populated.datasets[0]
    response = httpx.get(
        f"{service.base}/dataset/{slug}", headers={"Accept": "image/png"}
    )
    assert response.status_code == 406
    for fmt in FORMATS:
        assert fmt.media_type in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/dataset/no-such-dataset.ttl",
        "/dataset/synthetic-ecg-000000/v99.ttl",
        "/dataset/synthetic-ecg-000000/v0.ttl",
    ],
)
def test_unknown_dataset_or_release_is_404(service, path):
    assert httpx.get(f"{service.base}{path}").status_code == 404


def test_html_stays_the_default(service):
    slug = service.populated.datasets[0]
    response = httpx.get(
        f"{service.base}/dataset/{slug}", headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
