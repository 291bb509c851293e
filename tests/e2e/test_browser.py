"""A visitor in real headless Chromium: search, facet, open, cite, switch, tombstone."""

import os
from pathlib import Path

import pytest

from tests.web.site import WAVEFORM_SLUG, serve_catalog

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CARDIOFAIR_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(f"{CHROMIUM} is missing but browser tests are required")
        pytest.skip(f"{CHROMIUM} is missing: install the chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    made, server = serve_catalog(tmp_path_factory.mktemp("browser") / "home", 40)
    with server:
        yield made


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_visitor_finds_cites_and_follows_versions(site, browser):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=site.base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = context.new_page()
    failed = []
    page.on(
        "response",
        lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None,
    )

    page.goto("/")
    page.get_by_label("Search the datasets").fill("bundle branch")
    page.get_by_role("button", name="Search").last.click()
    page.wait_for_url("**/search?q=bundle*")
    total = page.locator("#results-title").inner_text()
    shot(page, "1-search")

    org = site.made.organisations[0]
    page.locator(f"a[href*='organization={org}']").first.click()
    page.wait_for_url(f"**organization={org}*")
    assert page.locator("#results-title").inner_text() != total
    assert page.locator("a[aria-current='true']").count() == 1
    shot(page, "2-facet")

    page.locator("li.card h3 a").first.click()
    page.wait_for_url("**/dataset/*")
    assert page.locator("h1").count() == 1
    shot(page, "3-dataset")

    copy = page.locator("button[data-copy='cite-text']")
    assert copy.inner_text() == "Copy Text"
    copy.click()
    expect(copy).to_have_text("Copied")
    cited = page.evaluate("navigator.clipboard.readText()")
    assert cited == page.locator("#cite-text").inner_text()
    assert "[Data set]" in cited

    slug, version = site.made.withdrawn[0]
    page.goto(f"/dataset/{slug}")
    page.locator(".versions a", has_text=f"Version {version}").click()
    page.wait_for_url(f"**/dataset/{slug}/v{version}")
    assert page.locator(".badge-withdrawn").first.is_visible()
    assert "labelling error" in page.locator(".reason").inner_text()
    shot(page, "4-tombstone")

    page.get_by_role("link", name="The newest version of").click()
    page.wait_for_url(f"**/dataset/{slug}")
    assert page.locator(".versions [aria-current='page']").count() == 1

    page.goto(f"/dataset/{WAVEFORM_SLUG}")
    image = page.locator("figure.ecg img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "5-preview")
    tombstone = f"{site.base}/dataset/{slug}/v{version}"
    assert failed == [(410, tombstone)]
    context.close()
