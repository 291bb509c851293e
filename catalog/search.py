"""Full-text search with facets over the findable datasets.

The index is derived from the relational records and can be rebuilt at any
time with :func:`rebuild`. A dataset is findable while it has at least one
published release; a dataset whose releases are all withdrawn leaves the index
(its tombstone stays reachable by URL).

One interface, two backends: SQLite uses an FTS5 table (``search_fts``, the
porter stemmer), PostgreSQL a ``tsvector`` column with a GIN index (the English
configuration). Facet values live in ``search_facet`` as (facet, value, doc)
rows, so a filter is an indexed semi-join and a facet count a grouped scan of
one facet's rows; counts are cached per index generation.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    Select,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Session, selectinload, sessionmaker

from catalog.ckan_dicts import (
    dataset_url,
    file_format,
    latest_release,
    licence_title,
    metadata_modified,
    naive_utc,
    package_dict,
    theme_label,
    theme_name,
)
from catalog.db.models import (
    Dataset,
    Release,
    SearchDoc,
    SearchFacet,
    SearchState,
)

log = logging.getLogger(__name__)

#: Facets in the order pages show them, with their headings.
FACETS = {
    "organization": "Organisation",
    "keyword": "Keyword",
    "theme": "Theme",
    "license": "Licence",
    "access": "Access level",
    "pathology": "Pathology",
    "format": "Format",
}

#: Sort orders: name -> (column, descending by default).
SORTS = {
    "relevance": None,
    "title": ("title", False),
    "modified": ("metadata_modified", True),
    "created": ("metadata_created", True),
    "id": ("dataset_id", False),
    "name": ("name", False),
}

MAX_ROWS = 1000


class SearchError(ValueError):
    """A search request names an unknown facet or sort order."""


@dataclass(frozen=True)
class Query:
    """What to find: text, facet filters, a change date, an order and a page.

    ``include`` maps a facet to the values of which a dataset must have one;
    ``exclude`` maps a facet to values a dataset must have none of.
    """

    q: str = ""
    include: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()
    modified_since: datetime | None = None
    modified_until: datetime | None = None
    sort: str = "relevance"
    descending: bool | None = None
    start: int = 0
    rows: int = 20

    def filters_key(self) -> tuple:
        return (
            self.q,
            self.include,
            self.exclude,
            self.modified_since,
            self.modified_until,
        )


@dataclass
class Result:
    total: int
    docs: list[dict]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


# Index maintenance ---------------------------------------------------------


def _load(session: Session, dataset_id: str) -> Dataset | None:
    stmt = (
        select(Dataset)
        .where(Dataset.id == dataset_id)
        .options(
            selectinload(Dataset.organization),
            selectinload(Dataset.releases).selectinload(Release.files),
        )
    )
    return session.scalars(stmt).one_or_none()


def index_dataset(session: Session, dataset_id: str, base_url: str) -> bool:
    """Bring one dataset's index entry up to date; True if it is findable.

    The caller commits; the change is part of the caller's transaction.
    """
    session.execute(delete(SearchDoc).where(SearchDoc.dataset_id == dataset_id))
    dataset = _load(session, dataset_id)
    findable = dataset is not None and latest_release(dataset) is not None
    if findable:
        _insert(session, dataset, base_url)
    _bump(session)
    log.debug("search index: %s %s", dataset_id, "indexed" if findable else "removed")
    return findable


def rebuild(session: Session, base_url: str, batch: int = 500) -> int:
    """Drop and rebuild the whole index; return the number of datasets indexed."""
    session.execute(delete(SearchFacet))
    session.execute(delete(SearchDoc))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DELETE FROM search_fts"))
    ids = session.scalars(select(Dataset.id).order_by(Dataset.id)).all()
    count = 0
    for i in range(0, len(ids), batch):
        stmt = (
            select(Dataset)
            .where(Dataset.id.in_(ids[i : i + batch]))
            .options(
                selectinload(Dataset.organization),
                selectinload(Dataset.releases).selectinload(Release.files),
            )
        )
        for dataset in session.scalars(stmt):
            if latest_release(dataset) is not None:
                _insert(session, dataset, base_url)
                count += 1
        session.expunge_all()
    _bump(session)
    log.info("search index rebuilt: %d datasets", count)
    return count


def follow_releases(sessions: sessionmaker[Session], base_url: str) -> Callable:
    """Keep the index in step with publications and withdrawals.

    Registers a hook in ``catalog.releases.on_change`` that re-indexes the
    release's dataset in its own transaction, and returns it so that the
    caller can remove it (:func:`unfollow`) when its database closes.
    """
    from catalog import releases

    def reindex(release_id: str) -> None:
        with sessions() as session:
            dataset_id = session.scalar(
                select(Release.dataset_id).where(Release.id == release_id)
            )
            if dataset_id is None:
                return
            index_dataset(session, dataset_id, base_url)
            session.commit()

    releases.on_change.append(reindex)
    return reindex


def unfollow(hook: Callable) -> None:
    from catalog import releases

    if hook in releases.on_change:
        releases.on_change.remove(hook)


def _insert(session: Session, dataset: Dataset, base_url: str) -> None:
    release = latest_release(dataset)
    package = package_dict(dataset, base_url)
    doc_id = session.execute(
        insert(SearchDoc)
        .values(
            dataset_id=dataset.id,
            name=dataset.slug,
            title=dataset.title,
            organization=dataset.organization.slug,
            metadata_created=naive_utc(dataset.created_at),
            metadata_modified=metadata_modified(dataset),
            package=package,
            card=_card(dataset, release, base_url),
        )
        .returning(SearchDoc.id)
    ).scalar_one()
    rows = [
        {"facet": f, "value": v[:300], "doc_id": doc_id}
        for f, v in sorted(_facet_values(dataset, release))
    ]
    if rows:
        session.execute(insert(SearchFacet), rows)
    _write_text(session, doc_id, dataset, release)


def _facet_values(dataset: Dataset, release: Release) -> set[tuple[str, str]]:
    values = {
        ("organization", dataset.organization.slug),
        ("license", dataset.license_id),
        ("access", dataset.access_rights),
    }
    values |= {("keyword", k) for k in dataset.keywords if k}
    values |= {("theme", theme_name(t)) for t in dataset.themes if t}
    values |= {("pathology", p) for p in pathologies(dataset, release)}
    values |= {("format", file_format(f.path, f.media_type)) for f in release.files}
    return values


def pathologies(dataset: Dataset, release: Release) -> list[str]:
    """Pathology labels of a release (SCP-ECG codes such as CLBBB, AFIB).

    Read from the release's frozen metadata (``pathologies``), else from the
    dataset's extra fields.
    """
    found = release.metadata_.get("pathologies") or dataset.extra.get("pathologies", [])
    labels = []
    for item in found:
        label = item.get("code") if isinstance(item, dict) else item
        if label:
            labels.append(str(label))
    return labels


def _card(dataset: Dataset, release: Release, base_url: str) -> dict:
    """The fields a result list shows."""
    return {
        "name": dataset.slug,
        "title": dataset.title,
        "url": dataset_url(base_url, dataset),
        "summary": _summary(dataset.description),
        "organization": dataset.organization.name,
        "organization_slug": dataset.organization.slug,
        "version": release.version,
        "published": release.published_at.date().isoformat()
        if release.published_at
        else None,
        "licence": licence_title(dataset.license_id)[0],
        "access": dataset.access_rights,
        "keywords": list(dataset.keywords),
        "themes": [theme_label(t) for t in dataset.themes],
    }


def _summary(description: str, limit: int = 280) -> str:
    flat = " ".join(description.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def _write_text(session: Session, doc_id: int, dataset: Dataset, release) -> None:
    keywords = " ".join(dataset.keywords)
    body = " ".join(
        [
            dataset.description,
            dataset.organization.name,
            dataset.slug,
            " ".join(theme_label(t) for t in dataset.themes),
            " ".join(pathologies(dataset, release)),
            release.identifier or "",
        ]
    )
    params = {"id": doc_id, "title": dataset.title, "kw": keywords, "body": body}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "UPDATE search_doc SET tsv = "
                "setweight(to_tsvector('english', :title), 'A') || "
                "setweight(to_tsvector('english', :kw), 'B') || "
                "setweight(to_tsvector('english', :body), 'C') WHERE id = :id"
            ),
            params,
        )
    else:
        session.execute(
            text(
                "INSERT INTO search_fts(rowid, title, keywords, body) "
                "VALUES (:id, :title, :kw, :body)"
            ),
            params,
        )


def _bump(session: Session) -> None:
    changed = session.execute(
        update(SearchState)
        .where(SearchState.id == 1)
        .values(generation=SearchState.generation + 1)
    ).rowcount
    if not changed:
        session.execute(insert(SearchState).values(id=1, generation=1))


def generation(session: Session) -> int:
    return (
        session.scalar(select(SearchState.generation).where(SearchState.id == 1)) or 0
    )


# Queries --------------------------------------------------------------------

_doc = SearchDoc.__table__
_facet = SearchFacet.__table__
_fts = table("search_fts", column("rowid"), column("rank"))
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_match(q: str) -> str | None:
    """User text as a safe FTS5 query: every word, the last one as a prefix."""
    words = _WORD.findall(q.lower())
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _conditions(query: Query, dialect: str) -> list:
    where = []
    words = fts_match(query.q)
    if words is not None and dialect == "postgresql":
        where.append(
            text("search_doc.tsv @@ websearch_to_tsquery('english', :q)").bindparams(
                q=query.q
            )
        )
    elif words is not None:
        matched = (
            select(literal_column("rowid"))
            .select_from(table("search_fts"))
            .where(text("search_fts MATCH :q").bindparams(q=words))
        )
        where.append(_doc.c.id.in_(matched))
    for name, values in query.include:
        where.append(_doc.c.id.in_(_having(name, values)))
    for name, values in query.exclude:
        where.append(_doc.c.id.not_in(_having(name, values)))
    if query.modified_since is not None:
        where.append(_doc.c.metadata_modified >= naive_utc(query.modified_since))
    if query.modified_until is not None:
        where.append(_doc.c.metadata_modified <= naive_utc(query.modified_until))
    return where


def _having(name: str, values: tuple[str, ...]) -> Select:
    if name not in FACETS:
        raise SearchError(f"unknown facet {name!r}; expected one of {list(FACETS)}")
    return select(_facet.c.doc_id).where(
        _facet.c.facet == name, _facet.c.value.in_(values)
    )


def _ordered(stmt: Select, query: Query, dialect: str) -> Select:
    if query.sort not in SORTS:
        raise SearchError(
            f"unknown sort {query.sort!r}; expected one of {sorted(SORTS)}"
        )
    words = fts_match(query.q)
    if query.sort == "relevance" and words is not None:
        if dialect == "postgresql":
            rank = text(
                "ts_rank(search_doc.tsv, websearch_to_tsquery('english', :rq)) DESC"
            ).bindparams(rq=query.q)
            return stmt.order_by(rank, _doc.c.id)
        # One FTS5 scan joined to the documents, ordered by its bm25 rank.
        joined = stmt.join_from(_doc, _fts, _fts.c.rowid == _doc.c.id).where(
            text("search_fts MATCH :rq").bindparams(rq=words)
        )
        return joined.order_by(_fts.c.rank, _doc.c.id)
    name, descending = SORTS[query.sort] or SORTS["modified"]
    if query.descending is not None:
        descending = query.descending
    col = _doc.c[name]
    return stmt.order_by(col.desc() if descending else col, _doc.c.id)


def search(
    session: Session,
    query: Query,
    facets: tuple[str, ...] = (),
    facet_limit: int = 20,
    field_name: str = "card",
) -> Result:
    """Run a query; return the total, one page of documents and facet counts.

    Parameters
    ----------
    field_name : {"card", "package"}
        Which stored form of each document to return.

    Raises
    ------
    SearchError
        For an unknown facet or sort order.
    """
    dialect = session.get_bind().dialect.name
    where = _conditions(query, dialect)
    rows = max(0, min(query.rows, MAX_ROWS))
    page = select(_doc.c[field_name]).where(*where)
    page = _ordered(page, query, dialect).offset(max(0, query.start)).limit(rows)
    docs = list(session.scalars(page)) if rows else []
    total = _count(session, query, where)
    counts = {
        name: facet_counts(session, query, name, facet_limit, where) for name in facets
    }
    return Result(total=total, docs=docs, facets=counts)


_cache: OrderedDict[tuple, object] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512


def _cached(session: Session, key: tuple, compute):
    key = (str(session.get_bind().url), generation(session), *key)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _count(session: Session, query: Query, where: list) -> int:
    stmt = select(func.count()).select_from(_doc).where(*where)
    return _cached(
        session, ("count", query.filters_key()), lambda: session.scalar(stmt)
    )


def facet_counts(
    session: Session, query: Query, name: str, limit: int = 20, where=None
) -> list[tuple[str, int]]:
    """The most frequent values of one facet among the matching datasets."""
    if name not in FACETS:
        raise SearchError(f"unknown facet {name!r}; expected one of {list(FACETS)}")
    where = (
        _conditions(query, session.get_bind().dialect.name) if where is None else where
    )
    n = func.count().label("n")
    stmt = select(_facet.c.value, n).where(_facet.c.facet == name)
    if where:
        stmt = stmt.where(_facet.c.doc_id.in_(select(_doc.c.id).where(*where)))
    stmt = stmt.group_by(_facet.c.value).order_by(n.desc(), _facet.c.value).limit(limit)

    def compute():
        return [(value, count) for value, count in session.execute(stmt)]

    return _cached(session, ("facet", name, limit, query.filters_key()), compute)


def facet_values(session: Session, name: str) -> list[tuple[str, int]]:
    """Every value of one facet over the whole index, with counts, by value."""
    return sorted(facet_counts(session, Query(), name, limit=100_000))


def package_names(session: Session, start: int = 0, limit: int | None = None):
    """Names of the findable datasets, in name order."""
    stmt = select(_doc.c.name).order_by(_doc.c.name).offset(start)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
