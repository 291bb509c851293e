"""What a landing page says about a release, for people and for machines.

From a :class:`~catalog.records.DatasetRecord` this module builds the
citation in every format, the schema.org ``Dataset`` (JSON-LD with an inline
context, never a remote one), the FAIR Signposting links (as an HTTP ``Link``
header and as an RFC 9264 linkset) and a summary of the gate report.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from catalog.ckan_dicts import licence_title
from catalog.records import DatasetRecord, ReleaseRecord

log = logging.getLogger(__name__)

ORCID = "https://orcid.org/"
DOI = re.compile(r"^10\.\d{4,9}/\S+$")

#: The RDF and metadata forms of a dataset or release URI: (``?format=`` key of
#: :mod:`catalog.negotiation`, media type, label).
ALTERNATES = (
    ("jsonld", "application/ld+json", "JSON-LD"),
    ("turtle", "text/turtle", "Turtle"),
    ("rdfxml", "application/rdf+xml", "RDF/XML"),
    ("ntriples", "application/n-triples", "N-Triples"),
)
CITATION_FORMATS = (
    ("datacite", "application/vnd.datacite.datacite+xml", "DataCite XML"),
)

#: Schema.org terms the JSON-LD uses, declared inline so no context is fetched.
SCHEMA_CONTEXT = {
    "@vocab": "https://schema.org/",
    "sdo": "https://schema.org/",
    "url": {"@id": "sdo:url", "@type": "@id"},
    "license": {"@id": "sdo:license", "@type": "@id"},
    "sameAs": {"@id": "sdo:sameAs", "@type": "@id"},
    "contentUrl": {"@id": "sdo:contentUrl", "@type": "@id"},
    "dateCreated": {"@id": "sdo:dateCreated", "@type": "sdo:DateTime"},
    "datePublished": {"@id": "sdo:datePublished", "@type": "sdo:DateTime"},
    "dateModified": {"@id": "sdo:dateModified", "@type": "sdo:DateTime"},
}


def resolvable(identifier: str) -> str:
    """A persistent identifier as a URL (a DOI through doi.org)."""
    if DOI.match(identifier):
        return f"https://doi.org/{identifier}"
    return identifier


def year(release: ReleaseRecord) -> int:
    return release.published_at.year


# Citations -----------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    key: str
    label: str
    media_type: str
    text: str


def citations(record: DatasetRecord, release: ReleaseRecord) -> list[Citation]:
    """The release's citation as text and in every format the URIs offer."""
    from catalog import formats

    return [
        Citation("text", "Text", "text/plain", citation_text(record, release)),
        Citation(
            "bibtex", "BibTeX", "application/x-bibtex", formats.bibtex(record, release)
        ),
        Citation(
            "ris",
            "RIS",
            "application/x-research-info-systems",
            formats.ris(record, release).replace("\r\n", "\n"),
        ),
        Citation(
            "csljson",
            "CSL-JSON",
            "application/vnd.citationstyles.csl+json",
            formats.csl_json(record, release),
        ),
        Citation(
            "datacite",
            "DataCite XML",
            "application/vnd.datacite.datacite+xml",
            formats.datacite_xml(record, release).decode("utf-8"),
        ),
    ]


def _names(release: ReleaseRecord) -> list[str]:
    return [c.name for c in release.creators] or [release.publisher.name]


def citation_text(record: DatasetRecord, release: ReleaseRecord) -> str:
    """Creators (year). Title (version N) [Data set]. Publisher. Link."""
    authors = "; ".join(_names(release)[:20])
    return (
        f"{authors} ({year(release)}). {release.title} (Version {release.version}) "
        f"[Data set]. {release.publisher.name}. {resolvable(release.identifier)}"
    )


# schema.org ------------------------------------------------------------------


def schema_org(record: DatasetRecord, release: ReleaseRecord) -> dict[str, Any]:
    """The release as a schema.org ``Dataset`` with an inline context."""

    data: dict[str, Any] = {
        "@context": SCHEMA_CONTEXT,
        "@type": "Dataset",
        "@id": release.uri,
        "url": release.uri,
        "identifier": resolvable(release.identifier),
        "name": release.title,
        "description": release.description or release.title,
        "version": str(release.version),
        "keywords": list(release.keywords),
        "isAccessibleForFree": True,
        "conditionsOfAccess": access_words(release.access_rights),
        "license": licence_title(release.licence_id)[1] or release.licence_id,
        "creator": [_schema_person(c) for c in release.creators]
        or [_schema_org_publisher(release)],
        "publisher": _schema_org_publisher(release),
        "datePublished": release.published_at.isoformat(),
        "dateModified": release.modified_at.isoformat(),
        "isPartOf": {"@type": "Dataset", "@id": record.uri, "name": record.title},
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": "cardiofair",
            "url": record.uri.rsplit("/dataset/", 1)[0] + "/",
        },
        "distribution": [
            {
                "@type": "DataDownload",
                "name": f.path,
                "contentUrl": f.download_url,
                "encodingFormat": f.media_type,
                "contentSize": f"{f.size_bytes} B",
                "sha256": f.sha256,
            }
            for f in release.public_files
        ],
    }
    if release.n_records is not None:
        data["size"] = f"{release.n_records} records"
    return data


def _schema_person(creator) -> dict[str, Any]:
    person: dict[str, Any] = {"@type": "Person", "name": creator.name}
    family, _, given = creator.name.partition(",")
    if given.strip():
        person["familyName"] = family.strip()
        person["givenName"] = given.strip()
    if creator.orcid:
        person["@id"] = ORCID + creator.orcid
        person["sameAs"] = ORCID + creator.orcid
    if creator.affiliation:
        person["affiliation"] = {"@type": "Organization", "name": creator.affiliation}
    return person


def _schema_org_publisher(release: ReleaseRecord) -> dict[str, Any]:
    org = release.publisher
    out: dict[str, Any] = {"@type": "Organization", "@id": org.uri, "name": org.name}
    if org.homepage:
        out["url"] = org.homepage
    return out


def json_ld(data: dict[str, Any]) -> str:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def access_words(level: str) -> str:
    if level == "public":
        return "Open: anyone may download the files under the licence."
    return (
        "Restricted: the description is public; the data files are released "
        "only to approved requests to the publisher."
    )


# Signposting -------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    href: str
    rel: str
    media_type: str | None = None

    def header(self) -> str:
        kind = f'; type="{self.media_type}"' if self.media_type else ""
        return f'<{self.href}>; rel="{self.rel}"{kind}'


def signposts(record: DatasetRecord, release: ReleaseRecord, anchor: str) -> list[Link]:
    """The FAIR Signposting links of a landing page at ``anchor``."""

    identifier = release.identifier if anchor == release.uri else record.identifier
    links = [Link(resolvable(identifier), "cite-as")]
    links += [
        Link(f"{anchor}?format={key}", "describedby", media)
        for key, media, _ in ALTERNATES + CITATION_FORMATS
    ]
    links += [Link(f.download_url, "item", f.media_type) for f in release.public_files]
    links.append(
        Link(licence_title(release.licence_id)[1] or release.licence_id, "license")
    )
    links += [Link(ORCID + c.orcid, "author") for c in release.creators if c.orcid]
    links += [
        Link("https://schema.org/Dataset", "type"),
        Link("https://schema.org/AboutPage", "type"),
        Link(f"{anchor}/linkset", "linkset", "application/linkset+json"),
    ]
    return links


# Above this many files the Link header names none of them: the linkset
# document lists every item, and HTTP clients refuse headers of many
# kilobytes (a release of 500 WFDB records has 1,500 files).
MAX_HEADER_ITEMS = 20


def link_header(links: list[Link]) -> str:
    """The links as an HTTP Link header; many ``item`` links are left to the
    linkset document."""
    items = sum(1 for link in links if link.rel == "item")
    if items > MAX_HEADER_ITEMS:
        links = [link for link in links if link.rel != "item"]
    return ", ".join(link.header() for link in links)


def linkset(anchor: str, links: list[Link]) -> dict[str, Any]:
    """The links as an RFC 9264 JSON linkset anchored at the landing page."""
    entry: dict[str, Any] = {"anchor": anchor}
    for link in links:
        if link.rel == "linkset":
            continue
        target = {"href": link.href}
        if link.media_type:
            target["type"] = link.media_type
        entry.setdefault(link.rel, []).append(target)
    return {"linkset": [entry]}


# Gate report -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None
    detail: str


def gate_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The checks, reasons and limitations a gate report states, for people.

    Every entry with a ``passed`` flag becomes a check, named by its path in
    the report; ``reasons`` and ``limitations`` lists are shown as they are.
    """
    checks: list[Check] = []
    _collect(report, "", checks)
    return {
        "checks": checks,
        "reasons": [str(r) for r in report.get("reasons") or []],
        "limitations": [str(x) for x in report.get("limitations") or []],
    }


def _collect(node: Any, path: str, checks: list[Check]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("passed"), bool) and path:
            checks.append(Check(_label(path, node), node["passed"], _detail(node)))
        for key, value in node.items():
            if key in ("reasons", "limitations"):
                continue
            _collect(value, f"{path}.{key}" if path else key, checks)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _collect(item, f"{path}[{i}]", checks)


def _label(path: str, node: dict) -> str:
    name = node.get("name") or node.get("evaluator") or node.get("metric")
    target = node.get("target")
    base = re.sub(r"\[\d+\]$", "", path).replace("_", " ")
    parts = [base] + [str(p) for p in (name, target) if p]
    return " / ".join(dict.fromkeys(parts))


def _detail(node: dict) -> str:
    bits = []
    if "risk" in node:
        bits.append(f"risk {node['risk']:.3g}")
    if isinstance(node.get("ci"), list) and len(node["ci"]) == 2:
        bits.append(f"95% CI {node['ci'][0]:.3g}-{node['ci'][1]:.3g}")
    for key in ("value", "score"):
        if isinstance(node.get(key), int | float):
            bits.append(f"{key} {node[key]:.3g}")
    if isinstance(node.get("threshold"), int | float):
        bits.append(f"threshold {node['threshold']:.3g}")
    return ", ".join(bits)
