"""Operations: is the service and what it depends on alive."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from catalog import __version__
from catalog.db.session import ping

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    version: str
    database: bool
    triple_store: bool


@router.get("/health", response_model=Health)
def health(request: Request) -> JSONResponse:
    """Service version and whether the database and triple store answer."""
    database = ping(request.app.state.engine)
    triple_store = request.app.state.triples.ping()
    ok = database and triple_store
    body = Health(
        status="ok" if ok else "degraded",
        version=__version__,
        database=database,
        triple_store=triple_store,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
