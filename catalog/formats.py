"""Citation and XML forms of a release record: DataCite kernel 4, Dublin Core
for ``oai_dc``, BibTeX, RIS and CSL-JSON.

They are built from :class:`catalog.records.ReleaseRecord` with lxml and the
standard library, fast enough for an OAI-PMH harvest of every record.
"""

from __future__ import annotations

import json
import re

from lxml import etree

from catalog.records import DatasetRecord, ReleaseRecord

DATACITE_NS = "http://datacite.org/schema/kernel-4"
DATACITE_XSD = "http://schema.datacite.org/meta/kernel-4/metadata.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_XSD = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ORCID_SCHEME = "https://orcid.org"


def _sub(parent, ns: str, name: str, text: str | None = None, **attrs):
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _is_doi(identifier: str) -> bool:
    return re.match(r"^10\.\d{4,9}/\S+$", identifier) is not None


def datacite_element(dataset: DatasetRecord, release: ReleaseRecord):
    """A DataCite kernel 4 ``resource`` element for one release."""
    ns = DATACITE_NS
    root = etree.Element(f"{{{ns}}}resource", nsmap={None: ns, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{ns} {DATACITE_XSD}")
    kind = "DOI" if _is_doi(release.identifier) else "URN"
    _sub(root, ns, "identifier", release.identifier, identifierType=kind)
    creators = _sub(root, ns, "creators")
    for creator in release.creators or ():
        node = _sub(creators, ns, "creator")
        _sub(node, ns, "creatorName", creator.name, nameType="Personal")
        if creator.orcid:
            _sub(
                node,
                ns,
                "nameIdentifier",
                creator.orcid,
                nameIdentifierScheme="ORCID",
                schemeURI=ORCID_SCHEME,
            )
    if not release.creators:
        node = _sub(creators, ns, "creator")
        _sub(node, ns, "creatorName", release.publisher.name, nameType="Organizational")
    titles = _sub(root, ns, "titles")
    _sub(titles, ns, "title", release.title).set(f"{{{XML_NS}}}lang", "en")
    _sub(root, ns, "publisher", release.publisher.name)
    _sub(root, ns, "publicationYear", str(release.published_at.year))
    _sub(root, ns, "resourceType", "Synthetic ECG data", resourceTypeGeneral="Dataset")
    subjects = _sub(root, ns, "subjects")
    for word in release.keywords:
        _sub(subjects, ns, "subject", word)
    dates = _sub(root, ns, "dates")
    _sub(dates, ns, "date", release.published_at.date().isoformat(), dateType="Issued")
    if release.withdrawn_at:
        _sub(
            dates,
            ns,
            "date",
            release.withdrawn_at.date().isoformat(),
            dateType="Withdrawn",
        )
    _sub(root, ns, "language", "en")
    related = _sub(root, ns, "relatedIdentifiers")
    _sub(
        related,
        ns,
        "relatedIdentifier",
        dataset.uri,
        relatedIdentifierType="URL",
        relationType="IsVersionOf",
    )
    if release.version > 1:
        _sub(
            related,
            ns,
            "relatedIdentifier",
            f"{dataset.uri}/v{release.version - 1}",
            relatedIdentifierType="URL",
            relationType="IsNewVersionOf",
        )
    sizes = _sub(root, ns, "sizes")
    for file in release.public_files:
        _sub(sizes, ns, "size", f"{file.size_bytes} bytes")
    formats = _sub(root, ns, "formats")
    for media in sorted({f.media_type for f in release.public_files}):
        _sub(formats, ns, "format", media)
    _sub(root, ns, "version", str(release.version))
    rights = _sub(root, ns, "rightsList")
    _sub(
        rights,
        ns,
        "rights",
        release.licence_id,
        rightsURI=f"http://spdx.org/licenses/{release.licence_id}",
        rightsIdentifier=release.licence_id,
        rightsIdentifierScheme="SPDX",
    )
    descriptions = _sub(root, ns, "descriptions")
    text = release.description or release.title
    if release.withdrawn:
        text = f"Withdrawn: {release.withdrawn_reason or 'no reason given'}"
    _sub(descriptions, ns, "description", text, descriptionType="Abstract")
    return root


def datacite_xml(dataset: DatasetRecord, release: ReleaseRecord) -> bytes:
    return etree.tostring(
        datacite_element(dataset, release), xml_declaration=True, encoding="UTF-8"
    )


def oai_dc_element(dataset: DatasetRecord, release: ReleaseRecord):
    """An ``oai_dc:dc`` element (Dublin Core, OAI-PMH's required format)."""
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_XSD}")
    _sub(root, DC_NS, "title", release.title)
    for creator in release.creators or ():
        _sub(root, DC_NS, "creator", creator.name)
    for word in release.keywords:
        _sub(root, DC_NS, "subject", word)
    _sub(root, DC_NS, "description", release.description or release.title)
    _sub(root, DC_NS, "publisher", release.publisher.name)
    _sub(root, DC_NS, "date", release.published_at.date().isoformat())
    _sub(root, DC_NS, "type", "Dataset")
    for media in sorted({f.media_type for f in release.public_files}):
        _sub(root, DC_NS, "format", media)
    _sub(root, DC_NS, "identifier", _identifier_url(release))
    _sub(root, DC_NS, "identifier", release.uri)
    _sub(root, DC_NS, "relation", dataset.uri)
    _sub(root, DC_NS, "language", "en")
    _sub(root, DC_NS, "rights", f"http://spdx.org/licenses/{release.licence_id}")
    _sub(root, DC_NS, "rights", f"access: {release.access_rights}")
    return root


def _identifier_url(release: ReleaseRecord) -> str:
    if _is_doi(release.identifier):
        return f"https://doi.org/{release.identifier}"
    return release.identifier


def _bibtex_escape(text: str) -> str:
    return re.sub(r"([{}\\&%$#_])", r"\\\1", text)


def bibtex(dataset: DatasetRecord, release: ReleaseRecord) -> str:
    """A ``@misc`` BibTeX entry (the common choice for datasets)."""
    key = re.sub(r"[^A-Za-z0-9]", "_", f"{release.dataset_slug}_v{release.version}")
    authors = " and ".join(c.name for c in release.creators) or release.publisher.name
    fields = {
        "title": release.title,
        "author": authors,
        "publisher": release.publisher.name,
        "year": str(release.published_at.year),
        "version": str(release.version),
        "url": release.uri,
        "note": f"Licence: {release.licence_id}",
    }
    if _is_doi(release.identifier):
        fields["doi"] = release.identifier
    body = ",\n".join(f"  {k} = {{{_bibtex_escape(v)}}}" for k, v in fields.items())
    return f"@misc{{{key},\n{body}\n}}\n"


def ris(dataset: DatasetRecord, release: ReleaseRecord) -> str:
    """A RIS record of type DATA."""
    lines = ["TY  - DATA", f"TI  - {release.title}"]
    lines += [f"AU  - {c.name}" for c in release.creators]
    lines += [
        f"PY  - {release.published_at.year}",
        f"DA  - {release.published_at.strftime('%Y/%m/%d')}",
        f"PB  - {release.publisher.name}",
        f"ET  - {release.version}",
        f"UR  - {release.uri}",
    ]
    if _is_doi(release.identifier):
        lines.append(f"DO  - {release.identifier}")
    lines += [f"KW  - {word}" for word in release.keywords]
    lines.append(f"AB  - {release.description}")
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


def csl_json(dataset: DatasetRecord, release: ReleaseRecord) -> str:
    """A one-item CSL-JSON array."""
    issued = release.published_at
    item = {
        "id": release.identifier,
        "type": "dataset",
        "title": release.title,
        "author": [_csl_name(c.name) for c in release.creators],
        "publisher": release.publisher.name,
        "issued": {"date-parts": [[issued.year, issued.month, issued.day]]},
        "version": str(release.version),
        "URL": release.uri,
        "abstract": release.description,
    }
    if _is_doi(release.identifier):
        item["DOI"] = release.identifier
    return json.dumps([item], ensure_ascii=False, indent=2)


def _csl_name(name: str) -> dict[str, str]:
    family, _, given = name.partition(",")
    if not given:
        return {"literal": name}
    return {"family": family.strip(), "given": given.strip()}
