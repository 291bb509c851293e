"""RDF namespaces of every vocabulary the metadata package writes.

rdflib ships some of them, but its DCAT is DCAT 2 and warns on DCAT 3 terms
(``dcat:inSeries``, ``dcat:hasVersion``, ...), so every vocabulary except RDF,
RDFS, OWL and XSD is declared here as a plain namespace, once, so that no
module spells out an IRI by hand.
"""

from __future__ import annotations

from functools import cache

from rdflib import Graph, URIRef
from rdflib import Namespace as _RdflibNamespace
from rdflib.namespace import OWL, RDF, RDFS, XSD


@cache
def _term(namespace: str, name: str) -> URIRef:
    return URIRef(namespace + name)


class Namespace(_RdflibNamespace):
    """An rdflib namespace whose terms are built once and then reused.

    Bulk publishing looks up the same few hundred terms millions of times;
    rdflib builds and checks a new URIRef on every attribute access.
    """

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        return _term(str(self), name)

    def __getitem__(self, key: str) -> URIRef:
        return _term(str(self), key)


CSVW = Namespace("http://www.w3.org/ns/csvw#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
DCMITYPE = Namespace("http://purl.org/dc/dcmitype/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
ODRL2 = Namespace("http://www.w3.org/ns/odrl/2/")
PROV = Namespace("http://www.w3.org/ns/prov#")
SDO = Namespace("https://schema.org/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
CV = Namespace("http://data.europa.eu/m8g/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
DPV = Namespace("https://w3id.org/dpv#")
DPV_PD = Namespace("https://w3id.org/dpv/pd#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
GDPR = Namespace("https://w3id.org/dpv/legal/eu/gdpr#")
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
OBO = Namespace("http://purl.obolibrary.org/obo/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

# Authority tables of the EU Publications Office.
EU_ACCESS_RIGHT = Namespace(
    "http://publications.europa.eu/resource/authority/access-right/"
)
EU_DATA_THEME = Namespace(
    "http://publications.europa.eu/resource/authority/data-theme/"
)
EU_DATASET_STATUS = Namespace(
    "http://publications.europa.eu/resource/authority/dataset-status/"
)
EU_DATASET_TYPE = Namespace(
    "http://publications.europa.eu/resource/authority/dataset-type/"
)
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
IANA_MEDIA = Namespace("https://www.iana.org/assignments/media-types/")
SPDX_LICENCES = Namespace("http://spdx.org/licenses/")
RELATORS = Namespace("http://id.loc.gov/vocabulary/relators/")

PREFIXES: dict[str, Namespace] = {
    "adms": ADMS,
    "csvw": CSVW,
    "cv": CV,
    "dcat": DCAT,
    "dcatap": DCATAP,
    "dct": DCTERMS,
    "dpv": DPV,
    "dpv-pd": DPV_PD,
    "dqv": DQV,
    "eli": ELI,
    "eu-gdpr": GDPR,
    "foaf": FOAF,
    "healthdcatap": HEALTHDCATAP,
    "obo": OBO,
    "odrl": ODRL2,
    "owl": OWL,
    "prov": PROV,
    "rdf": RDF,
    "rdfs": RDFS,
    "schema": SDO,
    "skos": SKOS,
    "spdx": SPDX,
    "vcard": VCARD,
    "xsd": XSD,
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind the package's prefixes on ``graph`` and return it."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph
