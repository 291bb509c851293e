"""Content negotiation for dataset and release URIs.

The format of ``/dataset/{slug}`` and ``/dataset/{slug}/v{N}`` is decided here,
in this order: a suffix on the path (``.ttl``), then ``?format=``, then the
``Accept`` header; without any of them the answer is HTML. The HTML itself
is rendered by ``catalog.routes.pages.dataset_html(request, record, release)``
(``release`` is None for the dataset URI), which returns a Response; until
that function exists, HTML is simply not among the formats offered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    key: str
    media_type: str
    suffix: str
    aliases: tuple[str, ...] = ()


FORMATS = (
    Format("html", "text/html", ".html", ("application/xhtml+xml",)),
    Format("jsonld", "application/ld+json", ".jsonld", ("json-ld",)),
    Format("turtle", "text/turtle", ".ttl", ("ttl", "application/x-turtle")),
    Format("rdfxml", "application/rdf+xml", ".rdf", ("rdf", "xml-rdf")),
    Format("ntriples", "application/n-triples", ".nt", ("nt", "n-triples")),
    Format(
        "datacite",
        "application/vnd.datacite.datacite+xml",
        ".xml",
        ("xml", "datacite-xml"),
    ),
    Format("bibtex", "application/x-bibtex", ".bib", ("bib", "text/x-bibtex")),
    Format("ris", "application/x-research-info-systems", ".ris", ()),
    Format(
        "csljson",
        "application/vnd.citationstyles.csl+json",
        ".json",
        ("csl-json", "csl", "json"),
    ),
)
BY_KEY = {f.key: f for f in FORMATS}


class NotAcceptable(LookupError):
    """No offered format matches the request; carries what is available."""

    def __init__(self, message: str, available: list[Format]):
        super().__init__(message)
        self.available = available

    def listing(self) -> str:
        lines = [str(self), "", "available formats:"]
        for f in self.available:
            lines.append(f"  {f.media_type}  (?format={f.key}, suffix {f.suffix})")
        return "\n".join(lines) + "\n"


def bare_media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` value, without its parameters and
    in lower case (``text/turtle; charset=utf-8`` -> ``text/turtle``)."""
    return content_type.split(";")[0].strip().lower()


def parse_accept(header: str) -> list[tuple[str, float]]:
    """Media ranges of an Accept header, best first (q=0 dropped).

    Ranges of equal quality keep their order; malformed parts are ignored.
    """
    ranges = []
    for position, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((quality, -position, media))
    ranges.sort(reverse=True)
    return [(media, quality) for quality, _, media in ranges]


def split_suffix(name: str, offered: list[Format]) -> tuple[str, Format | None]:
    """``("v2", turtle)`` for ``"v2.ttl"``; the name unchanged if no suffix fits."""
    for f in offered:
        if name.endswith(f.suffix) and len(name) > len(f.suffix):
            return name[: -len(f.suffix)], f
    return name, None


def decide_format(
    offered: list[Format],
    accept: str | None = None,
    format_param: str | None = None,
    suffix_format: Format | None = None,
) -> Format:
    """The format to answer with.

    Parameters
    ----------
    offered : list of Format
        What this resource can be given as, the default (HTML) first.
    accept : str, optional
        The request's Accept header.
    format_param : str, optional
        The ``format`` query parameter: a key, an alias or a media type.
    suffix_format : Format, optional
        The format named by the path's suffix, from :func:`split_suffix`.

    Raises
    ------
    NotAcceptable
        Naming what was asked and listing what is available.
    """
    if suffix_format is not None:
        return suffix_format
    if format_param:
        wanted = format_param.strip().lower()
        for f in offered:
            if wanted in (f.key, f.media_type, *f.aliases):
                return f
        raise NotAcceptable(f"format {format_param!r} is not available", offered)
    ranges = parse_accept(accept or "")
    if not ranges:
        return offered[0]
    for media_range, _ in ranges:
        match = _match(media_range, offered)
        if match is not None:
            return match
    raise NotAcceptable(f"none of the accepted types ({accept}) is available", offered)


def _match(media_range: str, offered: list[Format]) -> Format | None:
    if media_range == "*/*":
        return offered[0]
    if media_range.endswith("/*"):
        kind = media_range[:-1]
        return next((f for f in offered if f.media_type.startswith(kind)), None)
    for f in offered:
        if media_range == f.media_type or media_range in f.aliases:
            return f
    return None
