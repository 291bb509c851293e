"""The release lifecycle: datasets, drafts, the gate, publishing, withdrawal.

Every operation takes the acting :class:`~catalog.auth.Principal` (a token's
user over HTTP, a named user on the command line), checks that the record
belongs to the actor's organisation, runs in one database transaction and
writes one audit event. A refused attempt is rolled back and its audit event
is written in a transaction of its own, so the log shows it.

A release moves draft -> passed | blocked -> published -> withdrawn. Its
content digest is the SHA-256 of its sorted ``(path, sha256)`` list and its
metadata; a gate report counts only for the digest it was computed on, so
changing a draft voids the gate. Publishing re-hashes every stored file,
checks the digest against the latest passed report, freezes the metadata and
assigns ``{prefix}/{slug}.v{N}`` in a single transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.auth import SLUG_RE, Principal, audit
from catalog.db.models import (
    AuditEvent,
    Dataset,
    GateReport,
    Organization,
    Release,
    ReleaseFile,
    ReleaseState,
    Role,
    User,
)
from catalog.filestore import (
    FileStore,
    FileTooLarge,
    StoredFileCorrupt,
    StoredFileMissing,
)
from catalog.settings import Settings

log = logging.getLogger(__name__)

ACCESS_RIGHTS = ("public", "restricted")
KINDS = ("synthetic", "source")
MANIFEST = "manifest.json"
FEATURE_TABLES = ("features.parquet", "features.csv")
MAX_FILES = 100_000
MAX_PATH_CHARS = 500
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_REASON_CHARS = 2000
FROZEN = (ReleaseState.PUBLISHED.value, ReleaseState.WITHDRAWN.value)
#: Top-level metadata keys the service fills in itself.
RESERVED_METADATA = ("dataset", "manifest")

#: Called with a release id after it is published or withdrawn; derived
#: indexes (triples, search) register here. A failing hook is logged and
#: never undoes the change: the indexes can be rebuilt from the database.
on_change: list[Callable[[str], None]] = []


class InvalidRequest(ValueError):
    """An argument, file or field of a request is malformed."""


class NotFound(LookupError):
    """The named dataset, release or user does not exist."""


class Forbidden(PermissionError):
    """The record belongs to another organisation."""


class StateConflict(RuntimeError):
    """The operation is not allowed in the record's current state."""


REFUSALS = (InvalidRequest, NotFound, Forbidden, StateConflict, FileTooLarge)


@dataclass(frozen=True)
class StoredFile:
    """A file already in the store, with the path it has in a release."""

    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class GateInputs:
    """Everything one gate run looks at.

    Attributes
    ----------
    synthetic : Path
        The release's feature table (``features.parquet`` or ``.csv``).
    real, control : Path
        The source's training split and held-out control split.
    metadata : dict
        The metadata the release would publish.
    files_dir : Path
        The release's files under their release paths (for header scans).
    thresholds : dict
        Gate thresholds: the settings, overridden by the organisation's.
    secrets : list of str
        Columns the maintainer marked as sensitive.
    seed : int
        Seed of the attacks, so a verdict can be reproduced.
    """

    release_id: str
    synthetic: Path
    real: Path
    control: Path
    metadata: dict[str, Any]
    files_dir: Path
    thresholds: dict[str, Any]
    secrets: list[str]
    seed: int


@dataclass(frozen=True)
class GateVerdict:
    """What a gate run decided, and its full JSON report."""

    passed: bool
    report: dict[str, Any]


GateFunction = Callable[[GateInputs], GateVerdict]


@dataclass
class _Outcome:
    target_id: str | None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


# -- audit and transactions -------------------------------------------------


def _actor_detail(actor: Principal) -> dict[str, Any]:
    via = f"token {actor.token_id}" if actor.token_id else "command line"
    return {"via": via, "organization": actor.organization_slug}


@contextmanager
def _audited(
    session: Session,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str | None,
    refusals_only: bool = False,
) -> Iterator[_Outcome]:
    """Run one operation as one transaction that ends with its audit event.

    With ``refusals_only`` (reads) only a refused attempt is logged.
    """
    outcome = _Outcome(target_id)
    try:
        yield outcome
    except REFUSALS as exc:
        session.rollback()
        detail = {**_actor_detail(actor), **outcome.detail}
        audit(
            session,
            actor.email,
            action,
            target_type,
            outcome.target_id,
            "refused",
            str(exc),
            **detail,
        )
        session.commit()
        log.info("%s refused %s %s: %s", actor.email, action, outcome.target_id, exc)
        raise
    except BaseException:
        session.rollback()
        raise
    if refusals_only:
        session.commit()
        return
    detail = {**_actor_detail(actor), **outcome.detail}
    audit(
        session,
        actor.email,
        action,
        target_type,
        outcome.target_id,
        "ok",
        outcome.reason,
        **detail,
    )
    session.commit()


def record_refusal(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    reason: str,
    **detail,
) -> None:
    """Log a refused attempt by someone who is not a principal (a bad token)."""
    session.rollback()
    audit(session, actor, action, target_type, target_id, "refused", reason, **detail)
    session.commit()


_notify_lock = threading.Lock()


def notify(release_id: str) -> None:
    """Run the ``on_change`` hooks for a release, one release at a time."""
    with _notify_lock:
        _run_hooks(release_id)


def _run_hooks(release_id: str) -> None:
    for hook in list(on_change):
        try:
            hook(release_id)
        except Exception:  # a derived index must not undo a publication
            log.exception("on_change hook %r failed for release %s", hook, release_id)


# -- actors -----------------------------------------------------------------


def principal_for(user: User) -> Principal:
    """The principal of a user acting without a token (the command line)."""
    return Principal(
        user_id=user.id,
        email=user.email,
        role=user.role,
        organization_id=user.organization_id,
        organization_slug=user.organization.slug,
    )


def acting_user(session: Session, email: str | None = None) -> Principal:
    """The command line's actor: the user named, or else the only admin.

    Raises
    ------
    NotFound
        If no active user has this e-mail address.
    InvalidRequest
        If no e-mail is given and there is not exactly one active admin.
    """
    if email:
        user = session.scalar(select(User).where(User.email == email))
        if user is None or not user.active:
            raise NotFound(f"user {email!r} does not exist or is deactivated")
        return principal_for(user)
    admins = session.scalars(
        select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
    ).all()
    if len(admins) != 1:
        raise InvalidRequest(
            f"there are {len(admins)} active admins; name the acting user with "
            "--as EMAIL"
        )
    return principal_for(admins[0])


# -- validation -------------------------------------------------------------


def _check_text(value: Any, name: str, max_chars: int, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name}: expected text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{name}: expected a non-empty text")
    if len(value) > max_chars:
        raise InvalidRequest(
            f"{name}: {len(value)} characters; expected at most {max_chars}"
        )
    return value


def _check_terms(values: Any, name: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise InvalidRequest(f"{name}: expected a list of texts")
    terms = [_check_text(v, f"{name} item", 200, True) for v in values]
    if len(terms) > 100:
        raise InvalidRequest(f"{name}: {len(terms)} items; expected at most 100")
    return list(dict.fromkeys(terms))


def _check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidRequest(f"{name} {value!r}: expected one of {', '.join(choices)}")
    return value


def _check_licence(license_id: str) -> str:
    from metadata.licences import spdx_licence

    try:
        return spdx_licence(license_id, "license_id").id
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def _check_json_object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{name}: expected a JSON object")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{name}: not representable as JSON ({exc})") from None
    if len(text) > MAX_MANIFEST_BYTES:
        raise InvalidRequest(f"{name}: larger than {MAX_MANIFEST_BYTES} bytes")
    return json.loads(text)


def check_release_path(path: str) -> str:
    """Check a file's path inside a release (``wfdb/p0001.hea``).

    Raises
    ------
    InvalidRequest
        If the path is absolute, climbs out (``..``), has empty parts, control
        characters or backslashes, or is longer than ``MAX_PATH_CHARS``.
    """
    parts = path.split("/") if isinstance(path, str) else [""]
    bad = (
        not path
        or len(path) > MAX_PATH_CHARS
        or "\\" in path
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in path)
        or any(part in ("", ".", "..") for part in parts)
    )
    if bad:
        raise InvalidRequest(
            f"file path {path!r}: expected a relative path of at most "
            f"{MAX_PATH_CHARS} characters with '/' between names and no "
            "empty, '.' or '..' parts"
        )
    return path


# -- lookups ----------------------------------------------------------------


def get_dataset(session: Session, slug: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if dataset is None:
        raise NotFound(f"dataset {slug!r} does not exist")
    return dataset


def get_release(session: Session, ref: str) -> Release:
    """Find a release by its id or as ``SLUG/vN``.

    Raises
    ------
    NotFound
        If there is no such release.
    """
    release = None
    if "/v" in ref:
        slug, _, number = ref.rpartition("/v")
        if number.isdigit():
            release = session.scalar(
                select(Release)
                .join(Dataset)
                .where(Dataset.slug == slug, Release.version == int(number))
            )
    elif len(ref) <= 36:
        release = session.get(Release, ref)
    if release is None:
        raise NotFound(f"release {ref!r} does not exist")
    return release


def _check_owner(actor: Principal, dataset: Dataset) -> None:
    if not actor.can_write(dataset.organization_id):
        raise Forbidden(
            f"dataset {dataset.slug!r} belongs to another organisation; the "
            f"token acts for {actor.organization_slug!r}"
        )


def _writable_release(session: Session, actor: Principal, ref: str) -> Release:
    release = get_release(session, ref)
    _check_owner(actor, release.dataset)
    return release


def _refuse_frozen(release: Release, what: str) -> None:
    if release.state in FROZEN:
        raise StateConflict(
            f"release {release_label(release)} is {release.state} and cannot be "
            f"changed ({what}); a change needs a new release"
        )


def _loaded(release: Release) -> Release:
    """Load what callers read after the session closes (files, dataset)."""
    _ = release.files, release.dataset.organization
    return release


def release_label(release: Release) -> str:
    return f"{release.dataset.slug}/v{release.version}"


def identifier_for(settings: Settings, slug: str, version: int) -> str:
    """The persistent identifier of a release, ``{prefix}/{slug}.v{N}``."""
    return f"{settings.id_prefix}/{slug}.v{version}"


def latest_gate_report(session: Session, release: Release) -> GateReport | None:
    return session.scalar(
        select(GateReport)
        .where(GateReport.release_id == release.id)
        .order_by(GateReport.created_at.desc(), GateReport.id.desc())
        .limit(1)
    )


# -- digests and metadata ---------------------------------------------------


def content_digest(files: Iterable[tuple[str, str]], metadata: dict[str, Any]) -> str:
    """SHA-256 over the sorted ``(path, sha256)`` pairs and the metadata.

    The gate's scores, frozen into a published release's metadata as
    ``quality``, are the verdict on the content, not part of it.
    """
    judged = {k: v for k, v in metadata.items() if k != "quality"}
    payload = {"files": sorted([p, s] for p, s in files), "metadata": judged}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _dataset_snapshot(dataset: Dataset) -> dict[str, Any]:
    return {
        "slug": dataset.slug,
        "organization": dataset.organization.slug,
        "kind": dataset.kind,
        "title": dataset.title,
        "description": dataset.description,
        "keywords": list(dataset.keywords),
        "themes": list(dataset.themes),
        "access_rights": dataset.access_rights,
        "license_id": dataset.license_id,
        "extra": dict(dataset.extra),
    }


def release_metadata(release: Release) -> dict[str, Any]:
    """The metadata a release publishes: its own plus its dataset's fields.

    Frozen into the release when it is published; until then the dataset's
    fields are read live, so editing them also voids the gate.
    """
    if release.state in FROZEN:
        return dict(release.metadata_)
    return {**release.metadata_, "dataset": _dataset_snapshot(release.dataset)}


def current_digest(release: Release) -> str:
    pairs = [(f.path, f.sha256) for f in release.files]
    return content_digest(pairs, release_metadata(release))


# -- datasets ---------------------------------------------------------------


def create_dataset(
    session: Session,
    actor: Principal,
    slug: str,
    title: str,
    description: str = "",
    keywords: Iterable[str] = (),
    themes: Iterable[str] = (),
    access_rights: str = "public",
    license_id: str = "CC-BY-4.0",
    kind: str = "synthetic",
    extra: dict[str, Any] | None = None,
) -> Dataset:
    """Create a dataset owned by the actor's organisation.

    Raises
    ------
    InvalidRequest
        If a field is malformed (slug, licence, access rights, kind ...).
    StateConflict
        If the slug is taken.
    """
    with _audited(session, actor, "dataset.create", "dataset", None) as outcome:
        outcome.detail["slug"] = slug
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise InvalidRequest(
                f"slug {slug!r}: expected 1-100 lower-case letters, digits and "
                "hyphens, not starting or ending with a hyphen"
            )
        dataset = Dataset(
            slug=slug,
            organization_id=actor.organization_id,
            title=_check_text(title, "title", 500, True),
            description=_check_text(description, "description", 20_000, False),
            keywords=_check_terms(list(keywords), "keywords"),
            themes=_check_terms(list(themes), "themes"),
            access_rights=_check_choice(access_rights, "access_rights", ACCESS_RIGHTS),
            license_id=_check_licence(license_id),
            kind=_check_choice(kind, "kind", KINDS),
            extra=_check_json_object(extra or {}, "extra"),
        )
        if session.scalar(select(Dataset.id).where(Dataset.slug == slug)):
            raise StateConflict(f"dataset {slug!r} already exists")
        session.add(dataset)
        try:
            session.flush()
        except IntegrityError:
            raise StateConflict(f"dataset {slug!r} already exists") from None
        outcome.target_id = dataset.id
    log.info("dataset %s created by %s", slug, actor.email)
    return dataset


def read_dataset(session: Session, actor: Principal, slug: str) -> Dataset:
    """A dataset of the actor's organisation (refusals are audited)."""
    with _audited(
        session, actor, "dataset.read", "dataset", slug, refusals_only=True
    ) as outcome:
        dataset = get_dataset(session, slug)
        outcome.target_id = dataset.id
        _check_owner(actor, dataset)
    return dataset


def dataset_audit(
    session: Session, actor: Principal, slug: str, limit: int = 500
) -> list[AuditEvent]:
    """The audit events of a dataset and its releases, newest first."""
    dataset = read_dataset(session, actor, slug)
    release_ids = [r.id for r in dataset.releases]
    query = (
        select(AuditEvent)
        .where(
            or_(
                (AuditEvent.target_type == "dataset")
                & AuditEvent.target_id.in_([dataset.id, dataset.slug]),
                (AuditEvent.target_type == "release")
                & AuditEvent.target_id.in_(release_ids),
            )
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# -- files into the store ---------------------------------------------------


def _media_type_and_role(path: str) -> tuple[str, str]:
    name = path.rsplit("/", 1)[-1].lower()
    if path == MANIFEST:
        return "application/json", "manifest"
    if path in FEATURE_TABLES:
        return _MEDIA_TYPES[Path(name).suffix][0], "features"
    return _MEDIA_TYPES.get(Path(name).suffix, ("application/octet-stream", "data"))


_MEDIA_TYPES = {
    ".hea": ("text/plain", "header"),
    ".dat": ("application/octet-stream", "signal"),
    ".atr": ("application/octet-stream", "annotation"),
    ".dcm": ("application/dicom", "data"),
    ".parquet": ("application/vnd.apache.parquet", "data"),
    ".csv": ("text/csv", "data"),
    ".json": ("application/json", "data"),
    ".jsonld": ("application/ld+json", "documentation"),
    ".toml": ("application/toml", "documentation"),
    ".md": ("text/markdown", "documentation"),
    ".txt": ("text/plain", "documentation"),
    ".html": ("text/html", "documentation"),
    ".png": ("image/png", "documentation"),
}


def store_folder(
    store: FileStore, folder: Path, max_bytes: int | None = None
) -> list[StoredFile]:
    """Copy every regular file under ``folder`` into the store.

    Names starting with a dot (``.DS_Store``, ``.ipynb_checkpoints``) are
    skipped; symbolic links are refused so a release holds only what the
    folder itself contains.

    Raises
    ------
    InvalidRequest
        If the folder is missing or empty, or holds a link or a bad path.
    FileTooLarge
        If a file is larger than ``max_bytes``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidRequest(f"{folder}: no such folder; expected a release folder")
    stored = []
    for path in sorted(_walk(folder)):
        rel = check_release_path(path.relative_to(folder).as_posix())
        sha256, size = store.put_file(path, max_bytes)
        stored.append(StoredFile(rel, sha256, size))
        if len(stored) > MAX_FILES:
            raise InvalidRequest(f"{folder}: more than {MAX_FILES} files")
    if not stored:
        raise InvalidRequest(f"{folder}: holds no files; expected a release folder")
    return stored


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in dirs + [n for n in names if not n.startswith(".")]:
            path = Path(root) / name
            if path.is_symlink():
                raise InvalidRequest(
                    f"{path}: a symbolic link; expected regular files only"
                )
            if name not in dirs and path.is_file():
                yield path


def store_uploads(
    store: FileStore,
    uploads: Iterable[tuple[str, BinaryIO]],
    max_bytes: int | None = None,
) -> list[StoredFile]:
    """Copy uploaded streams, each named by its path in the release."""
    stored: dict[str, StoredFile] = {}
    for path, stream in uploads:
        rel = check_release_path(path)
        if rel in stored:
            raise InvalidRequest(f"file path {rel!r} is given twice")
        sha256, size = store.put_stream(stream, rel, max_bytes)
        stored[rel] = StoredFile(rel, sha256, size)
        if len(stored) > MAX_FILES:
            raise InvalidRequest(f"more than {MAX_FILES} files")
    if not stored:
        raise InvalidRequest("no files were uploaded; expected at least one file")
    return list(stored.values())


def _read_manifest(store: FileStore, files: Iterable[StoredFile]) -> dict | None:
    entry = next((f for f in files if f.path == MANIFEST), None)
    if entry is None:
        return None
    if entry.size_bytes > MAX_MANIFEST_BYTES:
        raise InvalidRequest(f"{MANIFEST}: larger than {MAX_MANIFEST_BYTES} bytes")
    with store.open(entry.sha256) as stream:
        raw = stream.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(
            f"{MANIFEST}: not valid UTF-8 JSON ({exc}); expected a JSON object "
            "with the cohort spec, seed and engine version"
        ) from None
    return _check_json_object(manifest, MANIFEST)


# -- releases ---------------------------------------------------------------


def create_release(
    session: Session,
    settings: Settings,
    actor: Principal,
    slug: str,
    *,
    folder: Path | None = None,
    uploads: Iterable[tuple[str, BinaryIO]] | None = None,
    metadata: dict[str, Any] | None = None,
    version_notes: str = "",
) -> Release:
    """Make a draft release, the dataset's next version, from files.

    Give either ``folder`` (a simulation output: WFDB records, a feature
    table, ``manifest.json``) or ``uploads`` (pairs of release path and
    binary stream). Files enter the content-addressed store before the
    release row is committed, so a committed release never lacks a file.

    Raises
    ------
    NotFound, Forbidden, InvalidRequest, FileTooLarge, StateConflict
        Each refusal is rolled back and audited.
    """
    store = FileStore(settings.files_dir)
    with _audited(session, actor, "release.create", "release", None) as outcome:
        outcome.detail["dataset"] = slug
        dataset = get_dataset(session, slug)
        _check_owner(actor, dataset)
        own = _check_own_metadata(metadata or {})
        notes = _check_text(version_notes, "version_notes", 20_000, False)
        files = _store_files(store, settings, folder, uploads)
        release = _new_version(session, dataset, notes)
        own.update(_manifest_metadata(store, files))
        _attach_files(session, release, files, dataset.access_rights)
        release.metadata_ = own
        session.flush()
        session.refresh(release)
        release.content_digest = current_digest(release)
        outcome.target_id = release.id
        outcome.detail.update(version=release.version, files=len(files))
    log.info("release %s created by %s", release_label(release), actor.email)
    return _loaded(release)


def _store_files(store, settings, folder, uploads) -> list[StoredFile]:
    if (folder is None) == (uploads is None):
        raise InvalidRequest("give either a folder or uploaded files")
    if folder is not None:
        return store_folder(store, folder, settings.max_upload_bytes)
    return store_uploads(store, uploads, settings.max_upload_bytes)


def _check_own_metadata(metadata: Any) -> dict[str, Any]:
    own = _check_json_object(metadata, "metadata")
    taken = [key for key in RESERVED_METADATA if key in own]
    if taken:
        raise InvalidRequest(
            f"metadata: the keys {taken} are filled in by the service; "
            "expected other keys"
        )
    return own


def _manifest_metadata(store: FileStore, files: list[StoredFile]) -> dict:
    manifest = _read_manifest(store, files)
    return {} if manifest is None else {"manifest": manifest}


def _new_version(session: Session, dataset: Dataset, notes: str) -> Release:
    latest = session.scalar(
        select(Release.version)
        .where(Release.dataset_id == dataset.id)
        .order_by(Release.version.desc())
        .limit(1)
    )
    release = Release(
        dataset=dataset,
        version=(latest or 0) + 1,
        state=ReleaseState.DRAFT.value,
        version_notes=notes,
        metadata_={},
    )
    session.add(release)
    try:
        session.flush()
    except IntegrityError:
        raise StateConflict(
            f"another release of {dataset.slug!r} was created at the same time; "
            "try again"
        ) from None
    return release


def _attach_files(
    session: Session, release: Release, files: list[StoredFile], access: str
) -> None:
    for entry in files:
        media_type, role = _media_type_and_role(entry.path)
        session.add(
            ReleaseFile(
                release=release,
                path=entry.path,
                sha256=entry.sha256,
                size_bytes=entry.size_bytes,
                media_type=media_type,
                role=role,
                restricted=access == "restricted",
            )
        )


def update_release(
    session: Session,
    settings: Settings,
    actor: Principal,
    ref: str,
    *,
    metadata: dict[str, Any] | None = None,
    version_notes: str | None = None,
    uploads: Iterable[tuple[str, BinaryIO]] | None = None,
    remove: Iterable[str] = (),
) -> Release:
    """Change a draft: replace its metadata, add or replace or remove files.

    Any change sets the release back to draft: the gate must run again.

    Raises
    ------
    StateConflict
        If the release is published or withdrawn (it is immutable).
    NotFound, Forbidden, InvalidRequest, FileTooLarge
        Each refusal is rolled back and audited.
    """
    store = FileStore(settings.files_dir)
    with _audited(session, actor, "release.update", "release", ref) as outcome:
        release = _writable_release(session, actor, ref)
        outcome.target_id = release.id
        _refuse_frozen(release, "update")
        before = current_digest(release)
        if metadata is not None:
            manifest = release.metadata_.get("manifest")
            own = _check_own_metadata(metadata)
            release.metadata_ = own | ({"manifest": manifest} if manifest else {})
        if version_notes is not None:
            release.version_notes = _check_text(
                version_notes, "version_notes", 20_000, False
            )
        _change_files(session, store, settings, release, uploads, list(remove))
        session.flush()
        session.refresh(release)
        after = current_digest(release)
        outcome.detail["gate_voided"] = release.state != ReleaseState.DRAFT.value
        release.content_digest = after
        release.state = ReleaseState.DRAFT.value
        outcome.detail["changed"] = after != before
    return _loaded(release)


def _change_files(session, store, settings, release, uploads, remove) -> None:
    by_path = {f.path: f for f in release.files}
    for path in remove:
        if path not in by_path:
            raise InvalidRequest(f"file path {path!r} is not in the release")
        session.delete(by_path.pop(path))
    session.flush()
    if uploads is None:
        return
    added = store_uploads(store, uploads, settings.max_upload_bytes)
    for entry in added:
        if entry.path in by_path:
            session.delete(by_path.pop(entry.path))
    session.flush()
    _attach_files(session, release, added, release.dataset.access_rights)
    if any(entry.path == MANIFEST for entry in added):
        manifest = _read_manifest(store, added)
        release.metadata_ = {**release.metadata_, "manifest": manifest}
    elif MANIFEST in remove:
        release.metadata_ = {
            k: v for k, v in release.metadata_.items() if k != "manifest"
        }


def read_release(session: Session, actor: Principal, ref: str) -> Release:
    """A release of the actor's organisation (refusals are audited)."""
    with _audited(
        session, actor, "release.read", "release", ref, refusals_only=True
    ) as outcome:
        release = _writable_release(session, actor, ref)
        outcome.target_id = release.id
    return _loaded(release)


def list_releases(
    session: Session, actor: Principal, slug: str | None = None
) -> list[Release]:
    """Releases of the actor's organisation, optionally of one dataset."""
    query = (
        select(Release)
        .join(Dataset)
        .where(Dataset.organization_id == actor.organization_id)
        .order_by(Dataset.slug, Release.version)
    )
    if slug is not None:
        query = query.where(Dataset.slug == slug)
    return list(session.scalars(query))


# -- the gate ---------------------------------------------------------------


def gate_release(
    session: Session,
    settings: Settings,
    actor: Principal,
    ref: str,
    *,
    real: Path | None = None,
    control: Path | None = None,
    secrets: Iterable[str] = (),
    gate: GateFunction | None = None,
    inputs_root: Path | None = None,
) -> GateReport:
    """Run the gate on a release's current content and record its verdict.

    The real training split and control split are ``real`` and ``control``,
    or else the paths named in the release's ``manifest.json`` (``real_train``
    and ``control``, at the top or under ``source``), relative paths taken
    from the home folder. With ``inputs_root`` set (requests over HTTP) the
    paths must lie inside it.

    Returns
    -------
    GateReport
        Tied to the content digest it was computed on; the release becomes
        ``passed`` or ``blocked`` if its content did not change meanwhile.

    Raises
    ------
    StateConflict
        If the release is published or withdrawn.
    InvalidRequest
        If there is no feature table, the splits are not given, or the gate
        finds its inputs unusable.
    NotFound, Forbidden
        Each refusal is rolled back and audited.
    """
    store = FileStore(settings.files_dir)
    gate = gate or default_gate
    with _audited(session, actor, "release.gate", "release", ref) as outcome:
        release = _writable_release(session, actor, ref)
        outcome.target_id = release.id
        _refuse_frozen(release, "gate")
        digest = current_digest(release)
        if _is_restricted_source(release):
            verdict = restricted_source_gate(release, settings)
            report = _record_verdict(session, release.id, digest, verdict)
            outcome.detail.update(passed=verdict.passed, content_digest=digest)
            outcome.reason = _summary(verdict)
            log.info("restricted source %s gated", release_label(release))
            return report
        with _gate_inputs(
            settings, store, release, real, control, secrets, inputs_root, digest
        ) as inputs:
            session.commit()  # hold no transaction while the gate runs
            verdict = _run(gate, inputs)
        report = _record_verdict(session, release.id, digest, verdict)
        outcome.detail.update(passed=verdict.passed, content_digest=digest)
        outcome.reason = _summary(verdict)
    state = "passed" if verdict.passed else "blocked"
    log.info("release %s gated: %s", release_label(release), state)
    return report


def _is_restricted_source(release: Release) -> bool:
    dataset = release.dataset
    return dataset.kind == "source" and dataset.access_rights == "restricted"


def restricted_source_gate(release: Release, settings: Settings) -> GateVerdict:
    """Gate a restricted real source: only its public metadata is scanned.

    A real source's files are never published (they are served only with a
    grant), so there are no synthetic rows to attack; what the public sees is
    the metadata record, and that must not leak. A high-severity finding
    blocks, as for a synthetic release.
    """
    from catalog.gate.leakage import HIGH, scan_release

    k = int(_thresholds(settings, release.dataset.organization)["small_count_k"])
    findings = scan_release(metadata=release_metadata(release), k=k)
    high = [f for f in findings if f.severity == HIGH]
    blocked_by = (
        [f"metadata leakage: {len(high)} high-severity findings"] if high else []
    )
    return GateVerdict(
        passed=not high,
        report={
            "passed": not high,
            "blocked_by": blocked_by,
            "kind": "restricted-source",
            "privacy": [],
            "leakage": {
                "passed": not high,
                "findings": [f.to_dict() for f in findings],
            },
            "summary": (
                "A restricted real source: its files are not published and are "
                "released only under a data access agreement, so no "
                "re-identification attack applies. Its public metadata was "
                "scanned for identifiers, exact dates and small counts."
            ),
            "limitations": [
                "Access to the files is decided by the data holder case by case."
            ],
        },
    )


def _run(gate: GateFunction, inputs: GateInputs) -> GateVerdict:
    try:
        verdict = gate(inputs)
    except ValueError as exc:
        raise InvalidRequest(f"the gate cannot use its inputs: {exc}") from None
    if not isinstance(verdict, GateVerdict):
        raise TypeError(f"a gate must return a GateVerdict, got {verdict!r}")
    return verdict


def _summary(verdict: GateVerdict) -> str:
    reasons = verdict.report.get("blocked_by") or []
    text = "; ".join(str(r) for r in reasons[:5])
    return ("passed" if verdict.passed else "blocked") + (f": {text}" if text else "")


def _record_verdict(
    session: Session, release_id: str, digest: str, verdict: GateVerdict
) -> GateReport:
    report = GateReport(
        release_id=release_id,
        content_digest=digest,
        passed=bool(verdict.passed),
        report=_check_json_object(verdict.report, "gate report"),
    )
    session.add(report)
    session.expire_all()
    release = session.get(
        Release, release_id, with_for_update=True, populate_existing=True
    )
    if release is not None and release.state not in FROZEN:
        if current_digest(release) == digest:
            release.state = (
                ReleaseState.PASSED.value
                if verdict.passed
                else ReleaseState.BLOCKED.value
            )
    session.flush()
    return report


@contextmanager
def _gate_inputs(
    settings, store, release, real, control, secrets, inputs_root, digest
) -> Iterator[GateInputs]:
    features = [f for f in release.files if f.path in FEATURE_TABLES]
    if not features:
        raise InvalidRequest(
            f"release {release_label(release)} has no feature table; expected "
            f"one of {', '.join(FEATURE_TABLES)} at the top of the release"
        )
    manifest = release.metadata_.get("manifest") or {}
    real_path = _split_path(settings, "real", real, manifest, inputs_root)
    control_path = _split_path(settings, "control", control, manifest, inputs_root)
    tmp_root = settings.home / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    files_dir = Path(tempfile.mkdtemp(prefix="gate-", dir=tmp_root))
    try:
        _materialise(store, release.files, files_dir)
        yield GateInputs(
            release_id=release.id,
            synthetic=files_dir / features[0].path,
            real=real_path,
            control=control_path,
            metadata=release_metadata(release),
            files_dir=files_dir,
            thresholds=_thresholds(settings, release.dataset.organization),
            secrets=_secrets(secrets, manifest),
            seed=_seed(manifest, digest),
        )
    finally:
        shutil.rmtree(files_dir, ignore_errors=True)


_SPLIT_KEYS = {"real": "real_train", "control": "control"}
_RUN_SPLIT_KEYS = {"real": "train", "control": "control"}


def _split_path(settings, role, given, manifest, inputs_root) -> Path:
    key = _SPLIT_KEYS[role]
    if given is None:
        given = manifest.get(key) or (manifest.get("source") or {}).get(key)
    if given is None:
        # A simulation run's manifest records the splits its cohort was
        # fitted on as {"splits": {"train": {"path": ...}, "control": ...}}.
        split = (manifest.get("splits") or {}).get(_RUN_SPLIT_KEYS[role]) or {}
        given = split.get("path") if isinstance(split, dict) else None
    if not given or not isinstance(given, str | os.PathLike):
        raise InvalidRequest(
            f"the gate needs the source's {role} split: pass it explicitly "
            f"(--{role}) or name it as '{key}' in {MANIFEST}"
        )
    path = Path(given)
    if not path.is_absolute():
        path = (inputs_root or settings.home) / path
    path = path.resolve()
    if inputs_root is not None and not path.is_relative_to(inputs_root.resolve()):
        raise InvalidRequest(
            f"{role} split {given}: expected a path inside {inputs_root}"
        )
    if not path.is_file():
        raise InvalidRequest(f"{role} split {given}: no such file")
    return path


def _materialise(store: FileStore, files: list[ReleaseFile], folder: Path) -> None:
    for entry in files:
        target = folder / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(store.path_for(entry.sha256), target)
        except FileNotFoundError:
            raise StateConflict(
                f"file {entry.path} ({entry.sha256}) is missing from the store"
            ) from None
        except OSError:
            shutil.copyfile(store.path_for(entry.sha256), target)


def _thresholds(settings: Settings, organization: Organization) -> dict[str, Any]:
    from dataclasses import asdict

    return {**asdict(settings.gate), **(organization.gate_thresholds or {})}


def _secrets(given: Iterable[str], manifest: dict) -> list[str]:
    named = manifest.get("secret_columns") or []
    columns = list(given) + [c for c in named if isinstance(c, str)]
    return list(dict.fromkeys(columns))


def _seed(manifest: dict, digest: str) -> int:
    seed = manifest.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0:
        return seed
    return int(digest[:8], 16)


def default_gate(inputs: GateInputs) -> GateVerdict:
    """The production gate, :func:`catalog.gate.run_gate`, on a release.

    Raises
    ------
    StateConflict
        If this installation has no gate (``catalog.gate.run_gate``).
    ValueError
        If the gate finds a table, column or metadata record unusable.
    """
    try:
        from catalog.gate import read_table, run_gate
    except ImportError:
        raise StateConflict(
            "the release gate (catalog.gate.run_gate) is not available in this "
            "installation; nothing can be gated or published"
        ) from None
    real, control, synthetic, dropped = comparable_columns(
        read_table(inputs.real, "real"),
        read_table(inputs.control, "control"),
        read_table(inputs.synthetic, "synthetic"),
    )
    report = run_gate(
        real,
        control,
        synthetic,
        metadata=inputs.metadata,
        files_dir=inputs.files_dir,
        secrets=inputs.secrets,
        thresholds=_gate_thresholds(inputs.thresholds),
        seed=inputs.seed,
    )
    body = report.to_dict()
    body["columns_not_compared"] = dropped
    return GateVerdict(passed=bool(report.passed), report=body)


# Row identifiers and bookkeeping that describe no patient: never compared.
ROW_KEYS = frozenset(
    {"record_id", "ecg_id", "patient_id", "path", "source_format", "interval_source"}
)
# Columns a simulation run adds about the engine, not about the patient.
ENGINE_PREFIXES = ("target_", "param_", "engine_")


def comparable_columns(real, control, synthetic):
    """Keep the feature columns the three tables share, in the real order.

    A source's feature table and a simulation run's differ in bookkeeping
    (pseudonymous ids, file paths, engine parameters); the gate compares
    only what describes a patient in both.

    Returns
    -------
    real, control, synthetic : pandas.DataFrame
        The tables restricted to the shared feature columns.
    dropped : dict
        ``{"real": [...], "synthetic": [...]}``, the columns left out.

    Raises
    ------
    InvalidRequest
        If fewer than two feature columns are shared.
    """

    def features(table):
        return [
            c
            for c in table.columns
            if c not in ROW_KEYS and not str(c).startswith(ENGINE_PREFIXES)
        ]

    shared = [
        c
        for c in features(real)
        if c in set(features(control)) and c in set(features(synthetic))
    ]
    if len(shared) < 2:
        raise InvalidRequest(
            "the real, control and synthetic tables share fewer than two feature "
            f"columns ({shared}); expected the columns of the source's feature table"
        )
    dropped = {
        "real": sorted(set(real.columns) - set(shared)),
        "synthetic": sorted(set(synthetic.columns) - set(shared)),
    }
    return real[shared], control[shared], synthetic[shared], dropped


def _gate_thresholds(values: dict[str, Any]):
    from dataclasses import fields

    from catalog.settings import GateThresholds

    known = {f.name: f.type for f in fields(GateThresholds)}
    chosen = {k: v for k, v in values.items() if k in known}
    for name, value in chosen.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidRequest(f"gate threshold {name}={value!r}: expected a number")
    return GateThresholds(**chosen)


# -- publish and withdraw ---------------------------------------------------


def publish_release(
    session: Session, settings: Settings, actor: Principal, ref: str
) -> Release:
    """Publish a release whose latest gate report passed on its current content.

    Every stored file is re-hashed and the digest recomputed first; then the
    state, identifier, publication time and frozen metadata are written in
    one transaction, together with the audit event.

    Raises
    ------
    StateConflict
        If the release was never gated, its latest gate run blocked it, its
        content changed after the gate ran, or it is already published or
        withdrawn.
    NotFound, Forbidden
        Each refusal is rolled back and audited.
    """
    store = FileStore(settings.files_dir)
    with _audited(session, actor, "release.publish", "release", ref) as outcome:
        release = _writable_release(session, actor, ref)
        outcome.target_id = release.id
        _refuse_frozen(release, "publish")
        digest = _verified_digest(store, release)
        _check_gate(session, release, digest)
        identifier = identifier_for(settings, release.dataset.slug, release.version)
        _transition(
            session,
            release,
            release.state,
            state=ReleaseState.PUBLISHED.value,
            identifier=identifier,
            published_at=datetime.now(UTC),
            metadata_={
                **release_metadata(release),
                "quality": _gate_measurements(session, release),
            },
            content_digest=digest,
        )
        check_conformance(release, settings)
        outcome.detail.update(identifier=identifier, content_digest=digest)
    log.info("release %s published as %s", release_label(release), identifier)
    notify(release.id)
    return _loaded(release)


def _gate_measurements(session: Session, release: Release) -> list[dict]:
    """The passed gate report's scores, frozen into the published record
    (DQV measurements in its DCAT description)."""
    report = latest_gate_report(session, release)
    measurements = (report.report if report else {}).get("measurements") or []
    return [m for m in measurements if isinstance(m, dict)]


def check_conformance(release: Release, settings: Settings) -> None:
    """Validate the DCAT record the release will be published with.

    The dataset's record, with this release as published, must conform to
    the DCAT-AP 3.0.1 shapes and to the HealthDCAT-AP shapes for its access
    rights (release 8 for public data, release 5 for restricted sources).

    Raises
    ------
    StateConflict
        Naming the profile and the first violations; the publication is
        rolled back.
    """
    from catalog import conformance, records
    from metadata import shacl

    try:
        record = records.build_dataset_record(release.dataset, settings)
        built = records.models(record)
        graph = records.dataset_graph(record, settings)
    except ValueError as exc:
        raise StateConflict(f"the release's metadata is incomplete: {exc}") from None
    profiles = ["dcat-ap-3.0.1", shacl.profile_for(built.dataset.access_rights)]
    try:
        found = conformance.violations(graph.serialize(format="nt"), profiles)
    except conformance.ConformanceCheckFailed as exc:
        raise StateConflict(str(exc)) from None
    for profile in profiles:
        problems = found[profile]
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise StateConflict(
                f"the release's metadata does not conform to {profile}: "
                + "; ".join(problems[:3])
                + more
            )


def _verified_digest(store: FileStore, release: Release) -> str:
    for entry in release.files:
        try:
            size = store.verify(entry.sha256)
        except (StoredFileMissing, StoredFileCorrupt) as exc:
            raise StateConflict(f"file {entry.path}: {exc}") from None
        if size != entry.size_bytes:
            raise StateConflict(
                f"file {entry.path}: stored with {size} bytes, recorded with "
                f"{entry.size_bytes}"
            )
    return current_digest(release)


def _check_gate(session: Session, release: Release, digest: str) -> None:
    report = latest_gate_report(session, release)
    label = release_label(release)
    if report is None:
        raise StateConflict(
            f"release {label} has not been through the gate; run the gate and "
            "publish once it passes"
        )
    if not report.passed:
        raise StateConflict(
            f"the gate blocked release {label}; fix what its report names and "
            "run the gate again"
        )
    if report.content_digest != digest:
        raise StateConflict(
            f"the content of release {label} changed after the gate passed "
            f"(gated {report.content_digest[:12]}, now {digest[:12]}); run the "
            "gate again"
        )


def _transition(session: Session, release: Release, from_state: str, **values):
    """Change a release only if no one else changed its state meanwhile."""
    result = session.execute(
        update(Release)
        .where(Release.id == release.id, Release.state == from_state)
        .values(modified_at=datetime.now(UTC), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StateConflict(
            f"release {release_label(release)} changed while this request ran; "
            "try again"
        )
    session.refresh(release)


def withdraw_release(
    session: Session, settings: Settings, actor: Principal, ref: str, reason: str
) -> Release:
    """Withdraw a published release; its record stays as a tombstone.

    Raises
    ------
    InvalidRequest
        If the reason is empty or too long.
    StateConflict
        If the release is not published.
    NotFound, Forbidden
        Each refusal is rolled back and audited.
    """
    with _audited(session, actor, "release.withdraw", "release", ref) as outcome:
        release = _writable_release(session, actor, ref)
        outcome.target_id = release.id
        reason = _check_text(reason, "reason", MAX_REASON_CHARS, True)
        if release.state != ReleaseState.PUBLISHED.value:
            raise StateConflict(
                f"release {release_label(release)} is {release.state}; only a "
                "published release can be withdrawn"
            )
        _transition(
            session,
            release,
            ReleaseState.PUBLISHED.value,
            state=ReleaseState.WITHDRAWN.value,
            withdrawn_at=datetime.now(UTC),
            withdrawn_reason=reason,
        )
        outcome.reason = reason
    log.info("release %s withdrawn: %s", release_label(release), reason)
    notify(release.id)
    return _loaded(release)
