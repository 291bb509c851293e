"""Web pages: content, signposting, JSON-LD, security headers, 404s, accessibility."""

import json

import httpx
import pytest
from lxml import html

from tests.web.site import WAVEFORM_SLUG

SIGNPOST_RELS = {"cite-as", "describedby", "item", "license", "author", "type"}


def get(site, path, **kwargs):
    return httpx.get(site.base + path, follow_redirects=False, **kwargs)


def check_accessible(page: str) -> html.HtmlElement:
    """Landmarks, one h1, labelled inputs, images with alt text, a language."""
    tree = html.fromstring(page)
    assert tree.get("lang") == "en"
    assert tree.xpath("//main") and tree.xpath("//header") and tree.xpath("//nav")
    assert len(tree.xpath("//h1")) == 1
    for node in tree.xpath("//input[not(@type='hidden')] | //select"):
        assert tree.xpath(f"//label[@for='{node.get('id')}']"), node.get("name")
    for img in tree.xpath("//img"):
        assert img.get("alt"), img.get("src")
    return tree


def check_headers(response):
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


@pytest.mark.parametrize("path", ["/", "/search", "/search?q=block&page=2"])
def test_home_and_search_pages_are_accessible_and_guarded(site, path):
    response = get(site, path)
    assert response.status_code == 200
    check_headers(response)
    check_accessible(response.text)


def test_search_narrows_by_facet_and_pages(site):
    org = site.made.organisations[0]
    tree = html.fromstring(get(site, f"/search?organization={org}").text)
    heading = tree.xpath("string(//h2[@id='results-title'])")
    count = int(heading.split()[0])
    assert 0 < count < len(site.made.datasets)
    assert all(
        org in link
        for link in tree.xpath("//li[@class='card']//p[@class='meta']/a/@href")
    )
    assert tree.xpath("//nav[@aria-label='Result pages']//a[@rel='next']")


def test_landing_page_says_everything_a_visitor_needs(site):
    response = get(site, f"/dataset/{WAVEFORM_SLUG}")
    assert response.status_code == 200
    check_headers(response)
    tree = check_accessible(response.text)
    text = tree.text_content()
    for words in (
        "Cite this release",
        "BibTeX",
        "RIS",
        "Open Data Commons",
        "SHA-256",
        "Release gate",
        "Provenance",
        "singling out",
        "Utility was measured on one classifier only.",
    ):
        assert words in text, words
    assert tree.xpath("//figure[@class='ecg']/img/@alt")


def test_landing_page_embeds_schema_org_with_an_inline_context(site):
    tree = html.fromstring(get(site, "/dataset/synthetic-ecg-000002").text)
    [script] = tree.xpath("//script[@type='application/ld+json']/text()")
    data = json.loads(script)
    assert isinstance(data["@context"], dict)
    assert data["@type"] == "Dataset" and data["creator"] and data["distribution"]
    assert all(c["sameAs"].startswith("https://orcid.org/") for c in data["creator"])
    kinds = set(tree.xpath("//link[@rel='alternate']/@type"))
    assert {"text/turtle", "application/ld+json", "application/rdf+xml"} <= kinds


def test_landing_page_signposting_header_and_linkset_agree(site):
    response = get(site, "/dataset/synthetic-ecg-000002")
    links = httpx.Headers(response.headers).get_list("link", split_commas=True)
    rels = {link.split('rel="')[1].split('"')[0] for link in links}
    assert SIGNPOST_RELS | {"linkset"} <= rels
    linkset = get(site, "/dataset/synthetic-ecg-000002/linkset")
    assert linkset.headers["content-type"] == "application/linkset+json"
    [entry] = linkset.json()["linkset"]
    assert entry["anchor"] == f"{site.base}/dataset/synthetic-ecg-000002"
    assert SIGNPOST_RELS <= set(entry)


def test_the_preview_is_an_svg_of_twelve_leads(site):
    response = get(site, f"/dataset/{WAVEFORM_SLUG}/v1/preview.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    svg = html.fromstring(response.content)
    assert len(svg.xpath("//polyline")) == 12


def test_a_public_file_downloads_with_its_checksum(site):
    import hashlib

    page = html.fromstring(get(site, f"/dataset/{WAVEFORM_SLUG}").text)
    href = page.xpath("//a[@download]/@href")[0]
    response = httpx.get(href)
    assert response.status_code == 200
    digest = hashlib.sha256(response.content).hexdigest()
    assert digest in page.xpath("//code[@class='hash']/text()")


def test_a_withdrawn_release_is_a_tombstone_with_its_reason(site):
    slug, version = site.made.withdrawn[0]
    response = get(site, f"/dataset/{slug}/v{version}")
    assert response.status_code == 410
    check_headers(response)
    tree = check_accessible(response.text)
    assert "labelling error" in tree.xpath("string(//p[@class='reason'])")
    assert tree.xpath(f"//a[@href='/dataset/{slug}']")


@pytest.mark.parametrize(
    "path",
    [
        "/dataset/no-such-dataset",
        "/dataset/synthetic-ecg-000002/v99",
        "/dataset/synthetic-ecg-000002/vlatest",
        "/dataset/synthetic-ecg-000002/v01",
        "/dataset/no-such-dataset/vlatest",
        "/dataset/synthetic-ecg-000002/v1/files/not-a-file.csv",
        "/organization/nobody",
        "/no/such/page",
    ],
)
def test_unknown_addresses_get_the_html_404_page(site, path):
    response = get(site, path, headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    check_headers(response)
    check_accessible(response.text)


def test_restricted_files_are_not_served(site):
    slug = site.made.restricted[0]
    response = get(site, f"/dataset/{slug}/v1/files/features.csv")
    assert response.status_code == 404
    page = get(site, f"/dataset/{slug}").text
    assert "features.csv" not in page and "request access" in page.lower()


def test_organisation_page_lists_its_datasets(site):
    org = site.made.organisations[1]
    response = get(site, f"/organization/{org}")
    assert response.status_code == 200
    tree = check_accessible(response.text)
    assert tree.xpath("//li[@class='card']")
