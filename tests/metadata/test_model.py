from __future__ import annotations

import pytest
from pydantic import ValidationError

from metadata.model import (
    Distribution,
    Licence,
    Person,
    Policy,
    Release,
    Rule,
    check_versions,
    orcid_check_digit,
)


def test_orcid_is_normalised_to_its_uri():
    person = Person(given_name="J", family_name="C", orcid="0000-0002-1825-0097")
    assert person.orcid == "https://orcid.org/0000-0002-1825-0097"


def test_orcid_check_digit_x_is_accepted():
    assert orcid_check_digit("000000021694233") == "X"
    Person(given_name="A", family_name="B", orcid="0000-0002-1694-233X")


@pytest.mark.parametrize(
    "orcid", ["0000-0002-1825-0096", "0000-0002-1825", "https://orcid.org/abc"]
)
def test_bad_orcid_names_the_field_and_value(orcid):
    with pytest.raises(ValidationError) as info:
        Person(given_name="J", family_name="C", orcid=orcid)
    text = str(info.value)
    assert "orcid" in text and orcid in text


def test_unknown_spdx_id_names_the_field_and_value():
    with pytest.raises(ValidationError) as info:
        Licence(spdx_id="CC-BY-5.0")
    assert "spdx_id" in str(info.value) and "CC-BY-5.0" in str(info.value)


def test_spdx_id_in_wrong_case_gets_a_hint():
    with pytest.raises(ValidationError, match="did you mean 'CC-BY-4.0'"):
        Licence(spdx_id="cc-by-4.0")


def test_unknown_duo_code_names_the_field_and_value():
    with pytest.raises(ValidationError) as info:
        Rule(action="use", purposes=["HMB", "NOPE"])
    assert "purposes.1" in str(info.value) and "NOPE" in str(info.value)


def test_duo_curie_and_iri_are_normalised_to_shorthand():
    rule = Rule(
        action="use",
        purposes=["DUO:0000006", "http://purl.obolibrary.org/obo/DUO_0000042"],
    )
    assert rule.purposes == ["GRU", "HMB"]


def test_malformed_date_names_the_field_and_value(dataset, releases):
    data = releases[1].model_dump()
    data["issued"] = "2025-13-40T00:00:00Z"
    with pytest.raises(ValidationError) as info:
        Release(**data)
    assert "issued" in str(info.value) and "2025-13-40" in str(info.value)


def test_naive_datetime_is_refused(releases):
    data = releases[1].model_dump()
    data["modified"] = "2025-04-01T10:00:00"
    with pytest.raises(ValidationError, match="modified"):
        Release(**data)


def test_identifier_must_carry_the_version(releases):
    data = releases[1].model_dump()
    data["identifier"] = "10.5072/synthetic-ecg-0.v7"
    with pytest.raises(ValidationError, match=r"does not end in '\.v2'"):
        Release(**data)


def test_withdrawn_release_offers_no_download(releases):
    data = releases[1].model_dump()
    data["withdrawn"] = {"reason": "error", "at": "2025-05-01T00:00:00Z"}
    with pytest.raises(ValidationError, match="distributions.0.download_url"):
        Release(**data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("media_type", "zip"), ("sha256", "ABC"), ("byte_size", -1)],
)
def test_distribution_fields_are_checked(field, value):
    data = {
        "title": "t",
        "access_url": "https://x.example.org/",
        "media_type": "text/csv",
        "byte_size": 1,
        "sha256": "0" * 64,
        field: value,
    }
    with pytest.raises(ValidationError) as info:
        Distribution(**data)
    assert field in str(info.value) and str(value) in str(info.value)


def test_hdab_defaults_to_the_publisher(dataset):
    assert dataset.hdab == dataset.publisher


def test_set_valued_lists_are_sorted_and_unique(dataset):
    data = dataset.model_dump()
    data["keywords"] = ["b", "a", "b"]
    assert type(dataset)(**data).keywords == ["a", "b"]


def test_policy_rules_keep_a_canonical_order():
    policy = Policy(prohibitions=[Rule(action="link"), Rule(action="reidentify")])
    assert [r.action for r in policy.prohibitions] == ["reidentify", "link"]


def test_an_empty_policy_is_refused():
    with pytest.raises(ValidationError, match="at least one rule"):
        Policy()


def test_a_version_may_not_repeat_but_may_leave_a_gap(releases):
    with pytest.raises(
        ValueError, match=r"each version must appear once, got \[2, 2\]"
    ):
        check_versions([releases[1], releases[1]])
    # v1 blocked by the gate and never published: v2 stands alone
    assert check_versions([releases[1]]) == [releases[1]]


def test_a_gap_in_versions_links_each_release_to_the_last_public_one(
    dataset, releases, base_url
):
    from metadata.namespaces import DCAT
    from metadata.rdf import dataset_graph, release_uri

    v3 = releases[1].model_copy(update={"version": 3})
    graph = dataset_graph(dataset, [releases[0], v3], base_url)
    assert graph.value(
        release_uri(base_url, dataset.slug, 3), DCAT.previousVersion
    ) == release_uri(base_url, dataset.slug, 1)


def test_an_organisation_with_a_slug_is_named_by_its_catalog_page(base_url):
    from rdflib import Graph, URIRef

    from metadata.model import Organization
    from metadata.rdf import _Reader, _Writer

    org = Organization(name="Virtual Heart Consortium (synthetic)", slug="vhc")
    writer = _Writer(base_url, Graph())
    node = writer.organization(org)
    assert node == URIRef(f"{base_url}/organization/vhc")
    assert _Reader(writer.g).organization(node) == org
