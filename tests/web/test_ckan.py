"""The CKAN Action API with the real clients: ckanapi and CKAN's harvester."""

import json

import ckanapi
import httpx
import pytest

from tests.web.site import WAVEFORM_SLUG


@pytest.fixture(scope="module")
def ckan(site):
    with ckanapi.RemoteCKAN(site.base, user_agent="cardiofair-tests") as remote:
        yield remote


def findable(site) -> list[str]:
    return sorted(site.made.datasets + [WAVEFORM_SLUG])


def test_ckanapi_lists_every_findable_dataset(site, ckan):
    assert ckan.action.package_list() == findable(site)


def test_ckanapi_pages_through_search_without_gaps_or_repeats(site, ckan):
    seen = []
    start = 0
    while True:
        page = ckan.action.package_search(rows=70, start=start, sort="name asc")
        if not page["results"]:
            break
        assert page["count"] == len(findable(site))
        seen += [p["name"] for p in page["results"]]
        start += 70
    assert seen == findable(site)


def test_ckanapi_shows_a_package_by_name_and_by_id(site, ckan):
    by_name = ckan.action.package_show(id="synthetic-ecg-000003")
    by_id = ckan.action.package_show(id=by_name["id"])
    assert by_id == by_name
    assert by_name["organization"]["name"] in site.made.organisations
    assert by_name["resources"] and by_name["tags"] and by_name["groups"]
    assert all(r["hash"].startswith("sha256:") for r in by_name["resources"])


def test_ckanapi_raises_not_found_and_validation_errors(ckan):
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_show()
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.package_create(name="x")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="flavour:vanilla")


def test_ckanapi_lists_and_shows_organisations(site, ckan):
    assert ckan.action.organization_list() == sorted(site.made.organisations)
    orgs = ckan.action.organization_list(all_fields=True)
    assert sum(o["package_count"] for o in orgs) == len(findable(site))
    shown = ckan.action.organization_show(id=orgs[0]["name"], include_datasets=True)
    assert shown["id"] == orgs[0]["id"]
    assert len(shown["packages"]) == shown["package_count"]


def test_restricted_files_are_never_listed(site, ckan):
    package = ckan.action.package_show(id=site.made.restricted[0])
    names = {r["name"] for r in package["resources"]}
    assert "features.csv" not in names and "records.zip" not in names
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert extras["restricted_files"] == "2"


def harvest(base: str, fq: str | None) -> list[dict]:
    """What ckanext-harvest's CKAN harvester does: pages of 100 by id until empty."""
    packages, previous, start = [], None, 0
    while True:
        params = {"rows": 100, "start": start, "sort": "id asc"}
        if fq:
            params["fq"] = fq
        response = httpx.get(f"{base}/api/3/action/package_search", params=params)
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        results = body["result"]["results"]
        if not results:
            return packages
        ids = [p["id"] for p in results]
        assert ids != previous, "two identical pages: the harvester would abort"
        previous = ids
        packages += results
        start += 100


def test_the_ckan_harvester_sequence_with_organisation_filters(site):
    a, b, c = sorted(site.made.organisations)
    both = harvest(site.base, f"organization:{a} OR organization:{b}")
    ids = [p["id"] for p in both]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {p["organization"]["name"] for p in both} == {a, b}
    others = harvest(site.base, f"-organization:{a} -organization:{b}")
    assert {p["organization"]["name"] for p in others} == {c}
    assert len(both) + len(others) == len(findable(site))
    for package in both[:5]:
        assert {"resources", "owner_org", "groups", "tags", "extras"} <= set(package)
    for owner in {p["owner_org"] for p in both}:
        response = httpx.get(
            f"{site.base}/api/3/action/organization_show", params={"id": owner}
        )
        assert response.json()["result"]["id"] == owner


def test_the_ckan_harvester_incremental_run_and_group_filter(site):
    everything = harvest(site.base, None)
    moments = sorted(p["metadata_modified"] for p in everything)
    since = moments[len(moments) // 2]
    newer = harvest(site.base, f"metadata_modified:[{since}Z TO *]")
    assert {p["metadata_modified"] for p in newer} == {m for m in moments if m >= since}
    tech = harvest(site.base, "groups:tech")
    assert tech and all("tech" in {g["name"] for g in p["groups"]} for p in tech)


def test_errors_use_ckan_envelopes_and_statuses(site):
    cases = [
        ("/api/3/action/no_such_action", 400, "Bad Request"),
        ("/api/3/action/package_show?id=nope", 404, "Not Found Error"),
        ("/api/3/action/package_search?start=-1", 409, "Validation Error"),
        ("/api/3/action/package_search?sort=colour+asc", 400, "Search Query Error"),
        ("/api/action/organization_update", 403, "Authorization Error"),
    ]
    for path, status, kind in cases:
        response = httpx.get(site.base + path)
        assert response.status_code == status, path
        body = response.json()
        assert body["success"] is False and body["error"]["__type"] == kind
        assert "help" in body


def test_post_json_and_facets_at_both_paths(site):
    body = {"q": "bundle", "rows": 0, "facet.field": json.dumps(["organization"])}
    for path in ("/api/action/package_search", "/api/3/action/package_search"):
        response = httpx.post(site.base + path, json=body, follow_redirects=False)
        assert response.status_code == 200
        result = response.json()["result"]
        assert sum(result["facets"]["organization"].values()) == result["count"] > 0
    broken = httpx.post(
        f"{site.base}/api/action/package_list",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["success"] is False


def test_status_group_and_licence_lists(site):
    def result(name, **params):
        return httpx.get(f"{site.base}/api/3/action/{name}", params=params).json()[
            "result"
        ]

    assert result("status_show")["ckan_version"].startswith("2.")
    assert set(result("group_list")) >= {"heal", "tech"}
    assert result("group_show", id="heal")["package_count"] > 0
    assert {"CC-BY-4.0", "CC0-1.0"} <= {lic["id"] for lic in result("license_list")}
