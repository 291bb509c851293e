"""Offline XML Schema validation with the schemas bundled in this folder.

Remote ``schemaLocation`` URLs are resolved to the bundled copies; the parser
never goes to the network. See PROVENANCE.md for where each schema is from.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources

from lxml import etree

log = logging.getLogger(__name__)

SCHEMAS = {
    "datacite": "datacite-kernel-4/metadata.xsd",
    "oai_dc": "oai_dc.xsd",
    "oai-pmh": "OAI-PMH.xsd",
    "oai_datacite": "oai_datacite-1.1/oai.xsd",
}
_REMOTE = {
    "http://www.w3.org/2001/03/xml.xsd": "xml.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/2009/01/xml.xsd": "xml.xsd",
    "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": "simpledc20021212.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd": "oai_dc.xsd",
    "http://schema.datacite.org/meta/kernel-4/metadata.xsd": (
        "datacite-kernel-4/metadata.xsd"
    ),
    "https://schema.datacite.org/meta/kernel-4/metadata.xsd": (
        "datacite-kernel-4/metadata.xsd"
    ),
}


class XmlInvalid(ValueError):
    """An XML document does not validate against its schema."""


class _BundledResolver(etree.Resolver):
    def resolve(self, url, pubid, context):
        if url in _REMOTE:
            path = resources.files("metadata.xsd").joinpath(_REMOTE[url])
            return self.resolve_string(path.read_bytes(), context, base_url=str(path))
        return None


@cache
def schema(name: str) -> etree.XMLSchema:
    """The compiled schema called ``name`` (a key of :data:`SCHEMAS`)."""
    if name not in SCHEMAS:
        raise ValueError(f"schema {name!r} is unknown; expected one of {list(SCHEMAS)}")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_BundledResolver())
    with resources.as_file(resources.files("metadata.xsd")) as folder:
        document = etree.parse(str(folder / SCHEMAS[name]), parser)
        return etree.XMLSchema(document)


def validate(xml: bytes | etree._Element, schema_name: str) -> None:
    """Validate ``xml`` against a bundled schema.

    Raises
    ------
    XmlInvalid
        With the schema's first errors (line and message) if it does not
        validate.
    """
    if isinstance(xml, bytes):
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        xml = etree.fromstring(xml, parser)
    compiled = schema(schema_name)
    if not compiled.validate(xml):
        errors = "; ".join(
            f"line {e.line}: {e.message}" for e in list(compiled.error_log)[:5]
        )
        raise XmlInvalid(f"not valid against {schema_name}: {errors}")


def is_valid(xml: bytes | etree._Element, schema_name: str) -> bool:
    """True if ``xml`` validates against the bundled schema."""
    try:
        validate(xml, schema_name)
    except XmlInvalid:
        return False
    return True
