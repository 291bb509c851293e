"""Citations are read back by real readers of each format."""

from __future__ import annotations

import json

import bibtexparser
import pytest
import rispy
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON

from metadata import citation


@pytest.fixture(params=["release", "concept"])
def cited(request, dataset, releases):
    if request.param == "release":
        return dataset, releases[1], [], releases[1].identifier, "2"
    return dataset, None, releases, dataset.identifier, None


def test_bibtex_parses(cited):
    dataset, release, all_releases, identifier, version = cited
    library = bibtexparser.parse_string(citation.bibtex(dataset, release, all_releases))
    assert not library.failed_blocks
    (entry,) = library.entries
    fields = {f.key: f.value for f in entry.fields}
    assert fields["doi"] == identifier
    assert fields["year"] == "2025"
    assert fields["publisher"] == dataset.publisher.name
    assert fields["author"] == "Carberry, Josiah and Example, Ada"
    assert fields.get("version") == version


def test_ris_parses(cited):
    dataset, release, all_releases, identifier, version = cited
    (entry,) = rispy.loads(citation.ris(dataset, release, all_releases))
    assert entry["type_of_reference"] == "DATA"
    assert entry["doi"] == identifier
    assert entry["year"] == "2025"
    assert entry["publisher"] == dataset.publisher.name
    assert entry["authors"] == ["Carberry, Josiah", "Example, Ada"]
    assert entry.get("edition") == version


def test_csl_json_renders_with_citeproc(cited):
    dataset, release, all_releases, identifier, version = cited
    items = json.loads(citation.csl_json_text(dataset, release, all_releases))
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    bibliography.register(Citation([CitationItem(items[0]["id"])]))
    (rendered,) = [str(entry) for entry in bibliography.bibliography()]
    assert "Carberry" in rendered and "2025" in rendered
    assert dataset.publisher.name in rendered
    assert items[0]["DOI"] == identifier
    assert items[0].get("version") == version


def test_apa_and_vancouver_carry_every_element(cited):
    dataset, release, all_releases, identifier, version = cited
    for style in (citation.apa, citation.vancouver):
        text = style(dataset, release, all_releases)
        assert identifier in text and "2025" in text
        assert dataset.publisher.name in text and "Carberry" in text
        assert (f"Version {version}" in text) == (version is not None)


def test_apa_form(dataset, releases):
    assert citation.apa(dataset, releases[1]).startswith(
        "Carberry, J., & Example, A. (2025). Synthetic 12-lead ECG cohort 0 "
        "(Version 2) [Data set]."
    )


def test_concept_without_a_year_is_refused(dataset):
    with pytest.raises(ValueError, match="needs a year"):
        citation.apa(dataset)
