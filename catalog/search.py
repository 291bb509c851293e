"""Full-text search with facets over the findable datasets.

The index is derived from the relational records and can be rebuilt at any
time with :func:`rebuild`. A dataset is findable while it has at least one
published release; a dataset whose releases are all withdrawn leaves the index
(its tombstone stays reachable by URL).

One interface, two backends: SQLite uses an FTS5 table (``search_fts``, the
porter stemmer), PostgreSQL a ``tsvector`` column with a GIN index (the English
configuration). Facet values live in ``search_facet`` as (facet, value, doc)
rows, so a filter is an indexed semi-join. Facet counts, and harvester pages
in id or name order, are worked out in memory from arrays of document ids
read once per index generation (see docs/decisions/0006); results and counts
are cached per index generation.

A page is found as document ids first (ranked, or read in the order of an
index) and only then are the page's stored documents read, as dicts or as
their JSON text for a response that passes them on.
"""

from __future__ import annotations

import logging
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import numpy as np
from sqlalchemy import (
    Select,
    Text,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
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
    Two indexers of the same dataset (a local publish and a follower, or two
    service processes) are serialised by a lock on the dataset's row.
    """
    session.execute(
        select(Dataset.id).where(Dataset.id == dataset_id).with_for_update()
    )
    session.execute(delete(SearchDoc).where(SearchDoc.dataset_id == dataset_id))
    dataset = _load(session, dataset_id)
    findable = dataset is not None and latest_release(dataset) is not None
    if findable:
        _insert(session, [dataset], base_url)
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
        findable = [d for d in session.scalars(stmt) if latest_release(d) is not None]
        _insert(session, findable, base_url)
        count += len(findable)
        session.expunge_all()
    _bump(session)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics let the planner read pages in index order.
        session.execute(text("ANALYZE search_doc, search_facet"))
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


def _insert(session: Session, datasets: list[Dataset], base_url: str) -> None:
    """Index findable datasets (none indexed yet) in a few statements."""
    if not datasets:
        return
    latest = [latest_release(d) for d in datasets]
    rows = [_doc_row(d, r, base_url) for d, r in zip(datasets, latest, strict=True)]
    stmt = insert(_doc).returning(_doc.c.id, sort_by_parameter_order=True)
    doc_ids = session.scalars(stmt, rows).all()
    facets = [
        {"facet": f, "value": v[:300], "doc_id": doc_id}
        for doc_id, d, r in zip(doc_ids, datasets, latest, strict=True)
        for f, v in sorted(_facet_values(d, r))
    ]
    if facets:
        session.execute(insert(_facet), facets)
    _write_text(session, list(zip(doc_ids, datasets, latest, strict=True)))


def _doc_row(dataset: Dataset, release: Release, base_url: str) -> dict:
    return {
        "dataset_id": dataset.id,
        "name": dataset.slug,
        "title": dataset.title,
        "organization": dataset.organization.slug,
        "metadata_created": naive_utc(dataset.created_at),
        "metadata_modified": metadata_modified(dataset),
        "package": package_dict(dataset, base_url),
        "card": _card(dataset, release, base_url),
    }


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


def _write_text(session: Session, docs: list[tuple[int, Dataset, Release]]) -> None:
    """Index the words of ``(doc_id, dataset, latest release)`` triples."""
    params = [_text_fields(*doc) for doc in docs]
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


def _text_fields(doc_id: int, dataset: Dataset, release: Release) -> dict:
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
    keywords = " ".join(dataset.keywords)
    return {"id": doc_id, "title": dataset.title, "kw": keywords, "body": body}


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

#: Offsets beyond this are treated as this: no index holds that many datasets,
#: and PostgreSQL refuses an OFFSET past a 64-bit integer.
MAX_START = 1_000_000_000


def fts_match(q: str) -> str | None:
    """User text as a safe FTS5 query: every word, the last one as a prefix."""
    words = _WORD.findall(q.lower())
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _text_condition(query: Query, dialect: str):
    words = fts_match(query.q)
    if words is None:
        return None
    if dialect == "postgresql":
        return text("search_doc.tsv @@ websearch_to_tsquery('english', :q)").bindparams(
            q=query.q
        )
    return _doc.c.id.in_(_fts_matches(words).with_only_columns(_fts.c.rowid))


def _fts_matches(words: str) -> Select:
    return select(_fts.c.rowid, _fts.c.rank).where(
        text("search_fts MATCH :q").bindparams(q=words)
    )


def _filters(query: Query, broad: frozenset[str] = frozenset()) -> list:
    """The conditions other than the text: facet values and the change dates.

    A facet filter named in ``broad`` matches many datasets: it is checked
    dataset by dataset (a correlated EXISTS), so that a page read in index
    order stops after its last row. Other filters are a set of ids read first,
    which suits a filter that matches few. Exclusions are always checked one
    by one.
    """
    where = []
    for name, values in query.include:
        if name in broad:
            where.append(exists(_having(name, values, correlated=True)))
        else:
            where.append(_doc.c.id.in_(_having(name, values)))
    for name, values in query.exclude:
        where.append(~exists(_having(name, values, correlated=True)))
    if query.modified_since is not None:
        where.append(_doc.c.metadata_modified >= naive_utc(query.modified_since))
    if query.modified_until is not None:
        where.append(_doc.c.metadata_modified <= naive_utc(query.modified_until))
    return where


def _conditions(query: Query, dialect: str, broad=frozenset()) -> list:
    matched = _text_condition(query, dialect)
    return ([] if matched is None else [matched]) + _filters(query, broad)


def _having(name: str, values: tuple[str, ...], correlated: bool = False) -> Select:
    if name not in FACETS:
        raise SearchError(f"unknown facet {name!r}; expected one of {list(FACETS)}")
    stmt = select(_facet.c.doc_id).where(
        _facet.c.facet == name, _facet.c.value.in_(values)
    )
    return stmt.where(_facet.c.doc_id == _doc.c.id) if correlated else stmt


#: A facet filter matching at least this share of the index counts as broad.
BROAD_SHARE = 0.05


def _broad_facets(session: Session, state: tuple, query: Query) -> frozenset[str]:
    """Facets of ``query.include`` whose values match many datasets."""
    total = _count(session, state, Query(), [])
    broad = set()
    for name, values in query.include:
        counts = dict(_facet_counts(session, state, Query(), name, 100_000))
        if sum(counts.get(v, 0) for v in values) >= BROAD_SHARE * total:
            broad.add(name)
    return frozenset(broad)


def _check_sort(query: Query) -> None:
    if query.sort not in SORTS:
        raise SearchError(
            f"unknown sort {query.sort!r}; expected one of {sorted(SORTS)}"
        )


#: Ranked ids are kept in steps of this many, for pages up to RANKED_CACHED.
RANK_STEP = 1000
RANKED_CACHED = 5000


def _ranked_ids(
    session: Session, state: tuple, query: Query, start: int, rows: int
) -> list[int]:
    """One page of the text matches, best first (ties by document id).

    Ranking scores every match, which is most of the cost of a broad query;
    the first RANKED_CACHED ids of a query are kept per index generation, in
    steps of RANK_STEP, so that later pages and repeated queries reuse them.
    """
    end = start + rows
    if end > RANKED_CACHED:
        return _rank(session, query, start, rows)
    depth = RANK_STEP * -(-end // RANK_STEP)
    key = ("ranked", query.filters_key(), depth)
    ranked = _cached(state, key, lambda: array("q", _rank(session, query, 0, depth)))
    return ranked[start:end].tolist()


def _rank(session: Session, query: Query, start: int, rows: int) -> list[int]:
    """Rank the text matches in the database; only ids are scored and sorted."""
    filters = _filters(query)
    if session.get_bind().dialect.name == "postgresql":
        rank = text(
            "ts_rank(search_doc.tsv, websearch_to_tsquery('english', :rq)) DESC"
        ).bindparams(rq=query.q)
        where = [_text_condition(query, "postgresql"), *filters]
        stmt = select(_doc.c.id).where(*where).order_by(rank, _doc.c.id)
    else:
        matched = _fts_matches(fts_match(query.q)).subquery("matched")
        stmt = select(matched.c.rowid)
        if filters:
            stmt = stmt.join(_doc, _doc.c.id == matched.c.rowid).where(*filters)
        stmt = stmt.order_by(matched.c.rank, matched.c.rowid)
    return list(session.scalars(stmt.offset(start).limit(rows)))


def _sort_column(query: Query) -> tuple[str, bool]:
    """The column a query is sorted by and whether the order is descending."""
    name, descending = SORTS[query.sort] or SORTS["modified"]
    return name, descending if query.descending is None else query.descending


def _sorted_ids(
    session: Session, query: Query, where: list, start: int, rows: int, state: tuple
) -> list[int]:
    """One page in the order of a column, seeking past a known key if it can.

    Ties are broken by document id in the same direction, so that one index
    serves the whole order; a unique column has none to break.
    """
    name, descending = _sort_column(query)
    col = _doc.c[name]
    seek = None
    if name in _UNIQUE_KEYS:
        seek = _seeks.near(state, query, start)
        if start - (seek[0] if seek else 0) > FILL_AFTER:
            seek = _fill_points(session, state, query, where, start, seek)
    offset = start
    if seek is not None:
        position, key = seek
        where = [*where, col < key if descending else col > key]
        offset = start - position
    order = [col] if name in _UNIQUE_KEYS else [col, _doc.c.id]
    order = [c.desc() for c in order] if descending else order
    stmt = select(_doc.c.id, col).where(*where).order_by(*order)
    page = session.execute(stmt.offset(offset).limit(rows)).all()
    if name in _UNIQUE_KEYS and len(page) == rows:
        _seeks.remember(state, query, start + rows, page[-1][1])
    return [doc_id for doc_id, _ in page]


#: Sort columns with one value per dataset: a page can start after a key.
_UNIQUE_KEYS = {"dataset_id", "name"}

#: A page starting more than FILL_AFTER rows past the nearest seek point has
#: the keys before it read once, leaving a point every POINT_STEP rows.
FILL_AFTER = 1000
POINT_STEP = 100


def _fill_points(
    session: Session,
    state: tuple,
    query: Query,
    where: list,
    start: int,
    seek: tuple | None,
) -> tuple | None:
    """Read the sort keys before ``start`` and remember points along them.

    It costs about what counting to ``start`` costs, once; later pages of the
    same query anywhere before ``start`` then seek instead of counting.
    """
    name, descending = _sort_column(query)
    col = _doc.c[name]
    position, key = seek or (0, None)
    if key is not None:
        where = [*where, col < key if descending else col > key]
    stmt = select(col).where(*where).order_by(col.desc() if descending else col)
    keys = session.scalars(stmt.limit(start - position)).all()
    for at, value in enumerate(keys, start=position + 1):
        if at % POINT_STEP == 0:
            _seeks.remember(state, query, at, value)
    return _seeks.near(state, query, start)


class _SeekPoints:
    """Where earlier pages of an ordered query ended: position -> last key.

    A harvester walking ``start=0, 100, 200 ...`` asks for the page after the
    one it was just given; its first row comes after that page's last key, so
    the database seeks to it instead of counting ``start`` rows. A start with
    no point of its own seeks to the nearest earlier point and counts on from
    there. Points belong to one index generation, so results never differ
    from counting from the first row.
    """

    def __init__(self, queries: int = 16, points: int = 20_000):
        self._by_query: OrderedDict[tuple, dict[int, object]] = OrderedDict()
        self._queries = queries
        self._points = points
        self._lock = threading.Lock()

    @staticmethod
    def _key(state: tuple, query: Query) -> tuple:
        return (*state, query.filters_key(), query.sort, query.descending)

    def near(self, state: tuple, query: Query, start: int) -> tuple | None:
        with self._lock:
            points = self._by_query.get(self._key(state, query), {})
            if start in points:
                return start, points[start]
            position = max((p for p in points if p <= start), default=None)
            return None if position is None else (position, points[position])

    def remember(self, state: tuple, query: Query, position: int, key) -> None:
        with self._lock:
            points = self._by_query.setdefault(self._key(state, query), {})
            self._by_query.move_to_end(self._key(state, query))
            if len(points) < self._points:
                points[position] = key
            while len(self._by_query) > self._queries:
                self._by_query.popitem(last=False)


_seeks = _SeekPoints()


# Listings -------------------------------------------------------------------
# A page of a list in the order of a unique column (``id asc``, ``name``) with
# facet and date filters but no text, as harvesters ask for, is cut from an
# array of every matching document id in that order. The array is made in
# memory from the column's order and each filter's postings, all read once
# per index generation, so a page at start=90,000 with a filter nobody used
# yet costs what the first page costs instead of counting 90,000 rows.


def _listable(query: Query) -> bool:
    name, _ = _sort_column(query)
    return name in _UNIQUE_KEYS and fts_match(query.q) is None


def _listing(session: Session, state: tuple, query: Query) -> np.ndarray:
    """Ids of the documents that pass ``query``'s filters, in its order."""
    name, descending = _sort_column(query)
    ascending = _ascending(session, state, query, name)
    return ascending[::-1] if descending else ascending


def _ascending(session: Session, state: tuple, query: Query, name: str) -> np.ndarray:
    key = ("listing", name, query.filters_key())
    compute = partial(_filtered, session, state, query, name)
    return _cached(state, key, compute, _arrays, _ARRAYS_SIZE)


def _filtered(session: Session, state: tuple, query: Query, name: str) -> np.ndarray:
    order = _cached(
        state, ("order", name), lambda: _order(session, name), _arrays, _ARRAYS_SIZE
    )
    keep = np.ones(len(order), dtype=bool)
    for facet, values in query.include:
        keep &= np.isin(order, _postings(session, state, facet, values))
    for facet, values in query.exclude:
        keep &= ~np.isin(order, _postings(session, state, facet, values))
    if query.modified_since is not None or query.modified_until is not None:
        dates = Query(
            modified_since=query.modified_since, modified_until=query.modified_until
        )
        keep &= np.isin(order, _ids(session, select(_doc.c.id).where(*_filters(dates))))
    return order[keep]


def _order(session: Session, name: str) -> np.ndarray:
    return _ids(session, select(_doc.c.id).order_by(_doc.c[name]))


def _postings(
    session: Session, state: tuple, facet: str, values: tuple[str, ...]
) -> np.ndarray:
    """Ids of the documents with any of these values of ``facet``."""
    compute = partial(_ids, session, _having(facet, values))
    return _cached(state, ("postings", facet, values), compute, _arrays, _ARRAYS_SIZE)


def _ids(session: Session, stmt: Select) -> np.ndarray:
    return np.fromiter(session.scalars(stmt), dtype=np.int64)


def _documents(
    session: Session, ids: list[int], field_name: str, raw: bool
) -> list[dict] | list[str]:
    """The stored documents of ``ids``, in that order; JSON text if ``raw``."""
    if not ids:
        return []
    stored = _doc.c[field_name]
    value = cast(stored, Text) if raw else stored
    stmt = select(_doc.c.id, value).where(_doc.c.id.in_(ids))
    found = dict(session.execute(stmt).all())
    return [found[i] for i in ids if i in found]


def search(
    session: Session,
    query: Query,
    facets: tuple[str, ...] = (),
    facet_limit: int = 20,
    field_name: str = "card",
    raw: bool = False,
) -> Result:
    """Run a query; return the total, one page of documents and facet counts.

    Parameters
    ----------
    field_name : {"card", "package"}
        Which stored form of each document to return.
    raw : bool
        Return each document as its stored JSON text instead of a dict, for a
        response that passes it on unchanged.

    Raises
    ------
    SearchError
        For an unknown facet or sort order.
    """
    _check_sort(query)
    dialect = session.get_bind().dialect.name
    state = _state(session)
    where = _conditions(query, dialect)
    rows = max(0, min(query.rows, MAX_ROWS))
    start = min(max(0, query.start), MAX_START)
    ids: list[int] = []
    total = None
    if _listable(query):
        listing = _listing(session, state, query)
        ids, total = listing[start : start + rows].tolist(), len(listing)
    elif rows and query.sort == "relevance" and fts_match(query.q):
        ids = _ranked_ids(session, state, query, start, rows)
    elif rows:
        broad = _broad_facets(session, state, query)
        ordered = _conditions(query, dialect, broad) if broad else where
        ids = _sorted_ids(session, query, ordered, start, rows, state)
    docs = _documents(session, ids, field_name, raw)
    if total is None:
        total = _count(session, state, query, where)
    counts = {
        name: _facet_counts(session, state, query, name, facet_limit) for name in facets
    }
    return Result(total=total, docs=docs, facets=counts)


_cache: OrderedDict[tuple, object] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 512
#: Listings, orders and postings (arrays of up to every document id, 800 kB
#: at 100,000 datasets) are kept apart, fewer.
_arrays: OrderedDict[tuple, object] = OrderedDict()
_ARRAYS_SIZE = 64


def _state(session: Session) -> tuple:
    """The database and its index generation: what cached results depend on."""
    return (str(session.get_bind().url), generation(session))


def _cached(state: tuple, key: tuple, compute, cache=_cache, size=_CACHE_SIZE):
    key = (*state, *key)
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = compute()
    with _cache_lock:
        cache[key] = value
        while len(cache) > size:
            cache.popitem(last=False)
    return value


def _count(session: Session, state: tuple, query: Query, where: list) -> int:
    stmt = select(func.count()).select_from(_doc).where(*where)
    words = fts_match(query.q)
    if words and not _filters(query) and session.get_bind().dialect.name == "sqlite":
        # Every FTS5 row has its document: count the matches where they are.
        stmt = select(func.count()).select_from(_fts_matches(words).subquery())
    return _cached(state, ("count", query.filters_key()), lambda: session.scalar(stmt))


def facet_counts(
    session: Session, query: Query, name: str, limit: int = 20
) -> list[tuple[str, int]]:
    """The most frequent values of one facet among the matching datasets."""
    return _facet_counts(session, _state(session), query, name, limit)


def _facet_counts(
    session: Session, state: tuple, query: Query, name: str, limit: int
) -> list[tuple[str, int]]:
    if name not in FACETS:
        raise SearchError(f"unknown facet {name!r}; expected one of {list(FACETS)}")
    key = ("facet", name, limit, query.filters_key())
    return _cached(state, key, partial(_counted, session, state, query, name, limit))


def _counted(
    session: Session, state: tuple, query: Query, name: str, limit: int
) -> list[tuple[str, int]]:
    """Facet counts among the documents that match ``query``, in memory: most
    frequent first, then in the database's order of the values; a negative
    ``limit`` keeps all."""
    compute = partial(_facet_rows, session, name)
    values, codes, docs = _cached(
        state, ("values", name), compute, _arrays, _ARRAYS_SIZE
    )
    if query.filters_key() != Query().filters_key():
        codes = codes[np.isin(docs, _matching(session, state, query))]
    counts = np.bincount(codes, minlength=len(values))
    ranked = sorted(np.flatnonzero(counts).tolist(), key=lambda i: (-counts[i], i))
    return [
        (values[i], int(counts[i])) for i in ranked[: limit if limit >= 0 else None]
    ]


def _matching(session: Session, state: tuple, query: Query) -> np.ndarray:
    """Ids of every document that matches ``query`` (text and filters)."""
    if fts_match(query.q) is None:
        return _ascending(session, state, query, "dataset_id")
    where = _conditions(query, session.get_bind().dialect.name)
    compute = partial(_ids, session, select(_doc.c.id).where(*where))
    key = ("matching", query.filters_key())
    return _cached(state, key, compute, _arrays, _ARRAYS_SIZE)


def _facet_rows(
    session: Session, name: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every ``(value, doc_id)`` of one facet: the distinct values in the
    database's order, and per row the value's position and the document."""
    stmt = select(_facet.c.value, _facet.c.doc_id).where(_facet.c.facet == name)
    rows = session.execute(stmt.order_by(_facet.c.value)).all()
    values: list[str] = []
    codes = np.empty(len(rows), dtype=np.int64)
    docs = np.empty(len(rows), dtype=np.int64)
    for i, (value, doc_id) in enumerate(rows):
        if not values or values[-1] != value:
            values.append(value)
        codes[i] = len(values) - 1
        docs[i] = doc_id
    return values, codes, docs


def facet_values(session: Session, name: str) -> list[tuple[str, int]]:
    """Every value of one facet over the whole index, with counts, by value."""
    return sorted(facet_counts(session, Query(), name, limit=100_000))


def package_names(session: Session, start: int = 0, limit: int | None = None):
    """Names of the findable datasets, in name order."""
    stmt = select(_doc.c.name).order_by(_doc.c.name).offset(min(start, MAX_START))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))
