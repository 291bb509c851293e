"""Citations and DataCite XML of catalog records, written by the metadata
package (:mod:`metadata.citation`, :mod:`metadata.datacite`).

Each function takes a dataset record and one of its releases, or None for the
dataset concept (all versions), and describes the release as frozen at its
publication.
"""

from __future__ import annotations

import logging

from catalog.records import DatasetRecord, ReleaseRecord, dataset_model, models
from metadata import citation, datacite
from metadata.model import Dataset, Release

log = logging.getLogger(__name__)


def _cited(
    record: DatasetRecord, release: ReleaseRecord | None
) -> tuple[Dataset, Release | None, list[Release]]:
    built = models(record)
    if release is None:
        return built.dataset, None, list(built.releases)
    return (
        dataset_model(record, release),
        built.release(release.version),
        list(built.releases),
    )


def datacite_xml(record: DatasetRecord, release: ReleaseRecord | None) -> bytes:
    """DataCite kernel-4 XML of a release, or of the concept."""
    dataset, version, releases = _cited(record, release)
    if version is None:
        return datacite.concept_xml(dataset, releases)
    return datacite.release_xml(dataset, version, releases)


def bibtex(record: DatasetRecord, release: ReleaseRecord | None) -> str:
    """A BibTeX ``@misc`` entry."""
    return citation.bibtex(*_cited(record, release))


def ris(record: DatasetRecord, release: ReleaseRecord | None) -> str:
    """An RIS record of type ``DATA``."""
    return citation.ris(*_cited(record, release))


def csl_json(record: DatasetRecord, release: ReleaseRecord | None) -> str:
    """CSL-JSON text: a list holding one ``dataset`` item."""
    return citation.csl_json_text(*_cited(record, release))
