"""The maintainers' API under ``/api/v1``: datasets, releases, gate, publish.

Every route needs ``Authorization: Bearer cf_...``; a token acts for one
organisation. Errors are ``{"detail": "..."}`` with stable texts: 401 for a
missing, invalid or revoked token, 403 for another organisation's record,
404, 409 for a state that forbids the operation, 413 for a request over
``CARDIOFAIR_MAX_UPLOAD_MB``, 422 for malformed input. Refused attempts,
including those with a bad token, are written to the audit log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.exceptions import HTTPException

from catalog import releases
from catalog.auth import AuthError, Principal, authenticate
from catalog.db.models import Dataset, Release
from catalog.deps import SessionDep, SettingsDep
from catalog.filestore import FileTooLarge

log = logging.getLogger(__name__)

_STATUS = {
    releases.NotFound: 404,
    releases.Forbidden: 403,
    releases.StateConflict: 409,
    FileTooLarge: 413,
    releases.InvalidRequest: 422,
}


def _error(status: int, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class _BodyTooLarge(Exception):
    """Raised inside the request stream once it passes the size limit."""


class _LimitedReceive:
    """Count request body bytes and stop reading past ``limit``."""

    def __init__(self, receive, limit: int):
        self.receive = receive
        self.limit = limit
        self.seen = 0
        self.exceeded = False

    async def __call__(self):
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.exceeded = True
                raise _BodyTooLarge
        return message


def _too_large(limit: int) -> JSONResponse:
    return _error(
        413,
        f"the request is larger than the limit of {limit} bytes "
        "(CARDIOFAIR_MAX_UPLOAD_MB)",
    )


def _validation_text(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is malformed"


class GuardedRoute(APIRoute):
    """A route with a body size limit and ``{"detail": text}`` errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            limit = request.app.state.settings.max_upload_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                return _too_large(limit)
            receive = _LimitedReceive(request.receive, limit)
            try:
                return await handler(Request(request.scope, receive))
            except RequestValidationError as exc:
                return _error(422, _validation_text(exc))
            except releases.REFUSALS as exc:
                return _error(_STATUS[type(exc)], str(exc))
            except (HTTPException, _BodyTooLarge):
                if receive.exceeded:
                    return _too_large(limit)
                raise

        return guarded


router = APIRouter(prefix="/api/v1", tags=["maintainers"], route_class=GuardedRoute)

_bearer = HTTPBearer(auto_error=False, description="An API token, cf_<id>_<secret>")


def _refusal_target(request: Request, session) -> tuple[str, str | None]:
    params = request.path_params
    if "release_id" in params:
        return "release", params["release_id"]
    if "slug" in params:
        slug = params["slug"]
        found = session.scalar(select(Dataset.id).where(Dataset.slug == slug))
        return "dataset", found or slug
    return "request", f"{request.method} {request.url.path}"


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The token's user; a refusal is audited and answered with 401."""
    token = credentials.credentials if credentials else None
    try:
        return authenticate(session, token)
    except AuthError as exc:
        target_type, target_id = _refusal_target(request, session)
        lookup = token.split("_")[1] if token and token.count("_") >= 2 else None
        route = request.scope.get("route")
        releases.record_refusal(
            session,
            f"token {lookup[:12]}" if lookup else "anonymous",
            getattr(route, "name", "request"),
            target_type,
            target_id,
            str(exc),
            method=request.method,
            path=request.url.path,
        )
        log.info("refused %s %s: %s", request.method, request.url.path, exc)
        raise HTTPException(
            401, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def get_gate() -> releases.GateFunction:
    """The gate that judges releases (the production gate)."""
    return releases.default_gate


GateDep = Annotated[releases.GateFunction, Depends(get_gate)]


# -- models -----------------------------------------------------------------


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(examples=["synthetic-adult-ecg"])
    title: str = Field(max_length=500)
    description: str = ""
    keywords: list[str] = []
    themes: list[str] = []
    access_rights: Literal["public", "restricted"] = "public"
    license_id: str = Field("CC-BY-4.0", description="an SPDX licence id")
    kind: Literal["synthetic", "source"] = "synthetic"
    extra: dict[str, Any] = {}


class ReleaseSummary(BaseModel):
    id: str
    version: int
    state: str
    identifier: str | None


class DatasetOut(BaseModel):
    id: str
    slug: str
    identifier: str
    organization: str
    kind: str
    title: str
    description: str
    keywords: list[str]
    themes: list[str]
    access_rights: str
    license_id: str
    extra: dict[str, Any]
    created_at: datetime
    releases: list[ReleaseSummary]


class FileOut(BaseModel):
    path: str
    sha256: str
    size_bytes: int
    media_type: str
    role: str
    restricted: bool


class GateOut(BaseModel):
    passed: bool
    content_digest: str
    current: bool = Field(description="whether it judged the current content")
    created_at: datetime
    report: dict[str, Any]


class ReleaseOut(BaseModel):
    id: str
    dataset: str
    version: int
    state: str
    identifier: str | None
    content_digest: str | None
    version_notes: str
    metadata: dict[str, Any]
    files: list[FileOut]
    gate: GateOut | None
    created_at: datetime
    published_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class ReleaseChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any] | None = None
    version_notes: str | None = None


class GateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    real: str | None = Field(
        None, description="training split, a path under the service's home folder"
    )
    control: str | None = Field(
        None, description="control split, a path under the service's home folder"
    )
    secrets: list[str] = Field([], description="columns to treat as sensitive")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=releases.MAX_REASON_CHARS)


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str | None
    outcome: str
    reason: str
    detail: dict[str, Any]


def _dataset_out(settings, dataset: Dataset) -> DatasetOut:
    return DatasetOut(
        id=dataset.id,
        slug=dataset.slug,
        identifier=f"{settings.id_prefix}/{dataset.slug}",
        organization=dataset.organization.slug,
        kind=dataset.kind,
        title=dataset.title,
        description=dataset.description,
        keywords=list(dataset.keywords),
        themes=list(dataset.themes),
        access_rights=dataset.access_rights,
        license_id=dataset.license_id,
        extra=dict(dataset.extra),
        created_at=dataset.created_at,
        releases=[
            ReleaseSummary(
                id=r.id, version=r.version, state=r.state, identifier=r.identifier
            )
            for r in dataset.releases
        ],
    )


def _release_out(session, release: Release) -> ReleaseOut:
    report = releases.latest_gate_report(session, release)
    gate = None
    if report is not None:
        gate = GateOut(
            passed=report.passed,
            content_digest=report.content_digest,
            current=report.content_digest == releases.current_digest(release),
            created_at=report.created_at,
            report=report.report,
        )
    return ReleaseOut(
        id=release.id,
        dataset=release.dataset.slug,
        version=release.version,
        state=release.state,
        identifier=release.identifier,
        content_digest=release.content_digest,
        version_notes=release.version_notes,
        metadata=releases.release_metadata(release),
        files=[FileOut.model_validate(f, from_attributes=True) for f in release.files],
        gate=gate,
        created_at=release.created_at,
        published_at=release.published_at,
        withdrawn_at=release.withdrawn_at,
        withdrawn_reason=release.withdrawn_reason,
    )


def _uploads(files: list[UploadFile]) -> list[tuple[str, Any]]:
    pairs = []
    for upload in files:
        if not upload.filename:
            raise releases.InvalidRequest(
                "an uploaded file has no filename; expected its path in the "
                "release as the filename"
            )
        pairs.append((upload.filename, upload.file))
    return pairs


def _metadata_field(text: str | None) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise releases.InvalidRequest(
            f"metadata: not valid JSON ({exc}); expected a JSON object"
        ) from None


# -- routes -----------------------------------------------------------------


@router.post("/datasets", status_code=201, name="dataset.create")
def create_dataset(
    body: DatasetIn, actor: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> DatasetOut:
    """Create a dataset owned by the token's organisation."""
    dataset = releases.create_dataset(session, actor, **body.model_dump())
    return _dataset_out(settings, dataset)


@router.get("/datasets/{slug}", name="dataset.read")
def read_dataset(
    slug: str, actor: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> DatasetOut:
    """A dataset and the list of its releases."""
    return _dataset_out(settings, releases.read_dataset(session, actor, slug))


@router.get("/datasets/{slug}/audit", name="dataset.audit")
def dataset_audit(
    slug: str,
    actor: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AuditOut]:
    """Audit events of a dataset and its releases, newest first."""
    events = releases.dataset_audit(session, actor, slug, limit)
    return [AuditOut.model_validate(e, from_attributes=True) for e in events]


@router.post("/datasets/{slug}/releases", status_code=201, name="release.create")
def create_release(
    slug: str,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile], File(description="each file's filename is its path")
    ],
    metadata: Annotated[str | None, Form(description="a JSON object")] = None,
    version_notes: Annotated[str, Form()] = "",
) -> ReleaseOut:
    """Create a draft release, the dataset's next version, from uploaded files."""
    release = releases.create_release(
        session,
        settings,
        actor,
        slug,
        uploads=_uploads(files),
        metadata=_metadata_field(metadata),
        version_notes=version_notes,
    )
    return _release_out(session, release)


@router.get("/releases/{release_id}", name="release.read")
def read_release(
    release_id: str, actor: PrincipalDep, session: SessionDep
) -> ReleaseOut:
    """A release with its files, metadata and latest gate verdict."""
    return _release_out(session, releases.read_release(session, actor, release_id))


@router.patch("/releases/{release_id}", name="release.update")
def change_release(
    release_id: str,
    body: ReleaseChange,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReleaseOut:
    """Replace a draft's metadata or notes; the gate must run again."""
    release = releases.update_release(
        session,
        settings,
        actor,
        release_id,
        metadata=body.metadata,
        version_notes=body.version_notes,
    )
    return _release_out(session, release)


@router.post("/releases/{release_id}/files", name="release.update")
def add_files(
    release_id: str,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile], File(description="each file's filename is its path")
    ],
) -> ReleaseOut:
    """Add or replace files of a draft; the gate must run again."""
    release = releases.update_release(
        session, settings, actor, release_id, uploads=_uploads(files)
    )
    return _release_out(session, release)


@router.delete("/releases/{release_id}/files/{path:path}", name="release.update")
def remove_file(
    release_id: str,
    path: str,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReleaseOut:
    """Remove a file from a draft; the gate must run again."""
    release = releases.update_release(
        session, settings, actor, release_id, remove=[path]
    )
    return _release_out(session, release)


@router.post("/releases/{release_id}/gate", name="release.gate")
def gate_release(
    release_id: str,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
    gate: GateDep,
    body: GateIn | None = None,
) -> ReleaseOut:
    """Run the gate on the release's current content and record its verdict."""
    body = body or GateIn()
    releases.gate_release(
        session,
        settings,
        actor,
        release_id,
        real=body.real,
        control=body.control,
        secrets=body.secrets,
        gate=gate,
        inputs_root=settings.home,
    )
    return _release_out(session, releases.get_release(session, release_id))


@router.post("/releases/{release_id}/publish", name="release.publish")
def publish_release(
    release_id: str, actor: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> ReleaseOut:
    """Publish a release whose gate passed on exactly its current content."""
    release = releases.publish_release(session, settings, actor, release_id)
    return _release_out(session, release)


@router.post("/releases/{release_id}/withdraw", name="release.withdraw")
def withdraw_release(
    release_id: str,
    body: WithdrawIn,
    actor: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ReleaseOut:
    """Withdraw a published release with a reason; a tombstone remains."""
    release = releases.withdraw_release(
        session, settings, actor, release_id, body.reason
    )
    return _release_out(session, release)
