"""Citations of a release or of a dataset concept (all versions).

BibTeX, RIS and CSL-JSON for reference managers, and formatted APA (7th
edition) and Vancouver text for people. Each carries the persistent
identifier, the version (for a release), the creators, the year and the
publisher.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from metadata.model import Dataset, Person, Release

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Author:
    family: str | None
    given: str | None
    literal: str | None


@dataclass(frozen=True)
class _Cited:
    key: str
    identifier: str
    title: str
    authors: list[_Author]
    issued: date
    publisher: str
    version: int | None

    @property
    def url(self) -> str:
        return f"https://doi.org/{self.identifier}"


def _authors(dataset: Dataset) -> list[_Author]:
    authors = []
    for agent in dataset.creators:
        if isinstance(agent, Person):
            authors.append(_Author(agent.family_name, agent.given_name, None))
        else:
            authors.append(_Author(None, None, agent.name))
    return authors


def _cited(dataset: Dataset, release: Release | None, releases) -> _Cited:
    if release is not None:
        issued = release.issued.date()
        version = release.version
        identifier = release.identifier
    else:
        dates = [r.issued.date() for r in releases]
        if dates:
            issued = min(dates)
        elif dataset.issued is not None:
            issued = dataset.issued.date()
        else:
            raise ValueError(
                f"dataset {dataset.slug!r}: citing the concept needs a year; give "
                "the dataset an issued date or pass its releases"
            )
        version = None
        identifier = dataset.identifier
    key = re.sub(r"[^A-Za-z0-9]+", "_", identifier.rsplit("/", 1)[-1])
    return _Cited(
        key, identifier, dataset.title, _authors(dataset), issued,
        dataset.publisher.name, version,
    )  # fmt: skip


def _bibtex_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text)


def bibtex(dataset: Dataset, release: Release | None = None, releases=()) -> str:
    """A BibTeX ``@misc`` entry (what BibTeX styles read for data sets)."""
    cited = _cited(dataset, release, releases)
    names = " and ".join(
        f"{a.family}, {a.given}" if a.literal is None else f"{{{a.literal}}}"
        for a in cited.authors
    )
    fields = [
        ("author", names),
        ("title", "{" + _bibtex_escape(cited.title) + "}"),
        ("year", str(cited.issued.year)),
        ("publisher", _bibtex_escape(cited.publisher)),
        ("doi", cited.identifier),
        ("url", cited.url),
        ("howpublished", "Data set"),
    ]
    if cited.version is not None:
        fields.insert(3, ("version", str(cited.version)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{cited.key},\n{body}\n}}\n"


def ris(dataset: Dataset, release: Release | None = None, releases=()) -> str:
    """An RIS record of type ``DATA``."""
    cited = _cited(dataset, release, releases)
    lines = ["TY  - DATA"]
    for author in cited.authors:
        name = author.literal or f"{author.family}, {author.given}"
        lines.append(f"AU  - {name}")
    lines += [
        f"TI  - {cited.title}",
        f"PY  - {cited.issued.year}",
        f"DA  - {cited.issued.strftime('%Y/%m/%d')}",
        f"PB  - {cited.publisher}",
        f"DO  - {cited.identifier}",
        f"UR  - {cited.url}",
    ]
    if cited.version is not None:
        lines.append(f"ET  - {cited.version}")
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


def csl_json(dataset: Dataset, release: Release | None = None, releases=()) -> list:
    """CSL-JSON: a list holding one item of type ``dataset``."""
    cited = _cited(dataset, release, releases)
    item: dict[str, Any] = {
        "id": cited.key,
        "type": "dataset",
        "title": cited.title,
        "author": [
            {"literal": a.literal}
            if a.literal
            else {"family": a.family, "given": a.given}
            for a in cited.authors
        ],
        "issued": {
            "date-parts": [[cited.issued.year, cited.issued.month, cited.issued.day]]
        },
        "publisher": cited.publisher,
        "DOI": cited.identifier,
        "URL": cited.url,
    }
    if cited.version is not None:
        item["version"] = str(cited.version)
    return [item]


def csl_json_text(dataset: Dataset, release: Release | None = None, releases=()) -> str:
    """CSL-JSON as text."""
    return json.dumps(csl_json(dataset, release, releases), ensure_ascii=False)


def _apa_name(author: _Author) -> str:
    if author.literal:
        return author.literal
    initials = " ".join(f"{part[0]}." for part in author.given.split())
    return f"{author.family}, {initials}"


def _apa_authors(authors: list[_Author]) -> str:
    names = [_apa_name(a) for a in authors]
    if len(names) == 1:
        return names[0]
    if len(names) <= 20:
        return ", ".join(names[:-1]) + ", & " + names[-1]
    return ", ".join(names[:19]) + ", . . . " + names[-1]


def apa(dataset: Dataset, release: Release | None = None, releases=()) -> str:
    """APA 7th-edition reference of a data set, as plain text."""
    cited = _cited(dataset, release, releases)
    version = f" (Version {cited.version})" if cited.version is not None else ""
    return (
        f"{_apa_authors(cited.authors)} ({cited.issued.year}). {cited.title}"
        f"{version} [Data set]. {cited.publisher}. {cited.url}"
    )


def _vancouver_name(author: _Author) -> str:
    if author.literal:
        return author.literal
    initials = "".join(part[0] for part in re.split(r"[\s-]+", author.given) if part)
    return f"{author.family} {initials}"


def vancouver(dataset: Dataset, release: Release | None = None, releases=()) -> str:
    """Vancouver (ICMJE / NLM) reference of a data set, as plain text."""
    cited = _cited(dataset, release, releases)
    names = [_vancouver_name(a) for a in cited.authors]
    if len(names) > 6:
        names = names[:6] + ["et al"]
    version = f" Version {cited.version}." if cited.version is not None else ""
    return (
        f"{', '.join(names)}. {cited.title} [dataset].{version} "
        f"{cited.publisher}; {cited.issued.year}. doi:{cited.identifier}"
    )


FORMATS = {
    "bibtex": bibtex,
    "ris": ris,
    "csl-json": csl_json_text,
    "apa": apa,
    "vancouver": vancouver,
}
