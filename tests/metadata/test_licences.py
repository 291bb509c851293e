from __future__ import annotations

import pytest

from metadata import licences
from metadata.model import Policy


def test_spdx_licence_has_name_and_uri():
    entry = licences.spdx_licence("CC-BY-4.0")
    assert entry.name == "Creative Commons Attribution 4.0 International"
    assert str(entry.uri) == "http://spdx.org/licenses/CC-BY-4.0"


def test_every_offered_data_licence_is_in_the_list():
    for spdx_id in licences.DATA_LICENCES:
        licences.spdx_licence(spdx_id)


def test_expression_names_its_licences():
    assert licences.check_expression("CC-BY-4.0 OR CC0-1.0") == ["CC-BY-4.0", "CC0-1.0"]


def test_bad_expression_names_the_field():
    with pytest.raises(ValueError, match="licence: 'MIT AND' is not valid SPDX"):
        licences.check_expression("MIT AND")


def test_duo_terms_have_iri_and_label():
    term = licences.duo_term("HMB")
    assert str(term.iri) == "http://purl.obolibrary.org/obo/DUO_0000006"
    assert term.label == "health or medical or biomedical research"


def test_policy_in_words_states_permissions_duties_and_prohibitions():
    text = licences.describe_policy(Policy.for_research(["HMB", "PUB"]))
    assert "You may use the data" in text
    assert "for health or medical or biomedical research" in text
    assert "You must cite the dataset" in text
    assert "You must not attempt to re-identify any person" in text


def test_commercial_use_is_only_permitted_when_asked():
    closed = Policy.for_research(["GRU"])
    opened = Policy.for_research(["GRU"], commercial=True)
    assert "commercialize" not in {r.action for r in closed.permissions}
    assert "commercialize" in {r.action for r in opened.permissions}
