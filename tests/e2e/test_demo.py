"""The main job end to end: `cardiofair demo` as `make run` runs it (with a
coarser engine grid and a shorter calibration, to keep the suite quick), then
every page reachable from the home page."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from catalog.app import create_app
from catalog.settings import load_settings
from tests.support.server import live_server

pytestmark = pytest.mark.slow


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _protocol(path: str) -> bool:
    """Machine endpoints, whose 400 without a request is their protocol's."""
    return path.startswith(("/sparql", "/oai", "/api/"))


def links(base: str, url: str, html: str) -> set[str]:
    parser = Links()
    parser.feed(html)
    found = set()
    for href in parser.hrefs:
        absolute = urljoin(url, href).split("#")[0]
        if urlsplit(absolute).netloc == urlsplit(base).netloc:
            found.add(absolute)
    return found


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARDIOFAIR_")}
    env["CARDIOFAIR_HOME"] = str(home)
    command = [
        sys.executable, "-m", "catalog", "demo", "--fit-check", "0",
        "--calibration-per-class", "4", "--grid-spacing-mm", "2",
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=1500
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    again = subprocess.run(
        [*command[:4], "--if-missing"], capture_output=True, text=True, env=env
    )
    assert again.returncode == 0 and "reusing it" in again.stdout
    return home, result.stdout + result.stderr


def test_the_demo_shows_every_step_and_a_blocked_release(demo_home):
    _, output = demo_home
    assert "blocked by the gate" in output
    assert "published as 10.5072/cardiofair/synthetic-12-lead-ecg.v2" in output
    assert re.search(r"release synthetic-12-lead-ecg/v1 withdrawn", output)


def test_every_page_is_reachable_from_home_and_the_landing_page_is_complete(
    demo_home,
):
    home, _ = demo_home
    settings = load_settings({"CARDIOFAIR_HOME": str(home)})
    with live_server(create_app(settings)) as base:
        seen: dict[str, int] = {}
        todo = [f"{base}/"]
        with httpx.Client(timeout=30) as client:
            while todo:
                url = todo.pop(0)
                if url in seen:
                    continue
                response = client.get(url)
                seen[url] = response.status_code
                kind = response.headers.get("content-type", "")
                # Pages are followed; a search or format variant (a query
                # string) and the protocol endpoints are only fetched.
                path = urlsplit(url).path
                if "text/html" in kind and "?" not in url and not _protocol(path):
                    todo.extend(links(base, url, response.text) - set(seen))
            landing = client.get(f"{base}/dataset/synthetic-12-lead-ecg").text
            preview = client.get(f"{base}/dataset/synthetic-12-lead-ecg/v2/preview.svg")
    broken = {
        u: s
        for u, s in seen.items()
        if s >= 500 or (s >= 400 and s != 410 and not _protocol(urlsplit(u).path))
    }
    assert not broken, broken
    pages = set(seen)
    for path in (
        "/dataset/synthetic-12-lead-ecg",
        "/dataset/synthetic-12-lead-ecg/v1",
        "/dataset/physionet-sample-source",
        "/organization/cardiofair-demo",
    ):
        assert f"{base}{path}" in pages, path
    assert seen[f"{base}/dataset/synthetic-12-lead-ecg/v1"] == 410
    for part in ("Cite", "CC-BY-4.0", "preview.svg", "gate", "rovenance"):
        assert part in landing, part
    assert preview.status_code == 200 and "<svg" in preview.text
