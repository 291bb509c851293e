"""Protections applied to every response and request of the service.

Pages set their own security headers (:data:`catalog.routes.pages.SECURITY_HEADERS`);
this middleware makes sure nothing else goes out without the baseline: every
response is ``nosniff`` and may not be framed, and any HTML response that did
not set a ``Content-Security-Policy`` gets the pages' policy. The interactive
API documentation under ``/docs`` and ``/redoc`` loads its scripts from a CDN
and keeps its own rules.

Request bodies are bounded too. The maintainers' API (``/api/v1``) enforces
``CARDIOFAIR_MAX_UPLOAD_MB`` itself, with its JSON errors; everywhere else a
body (a SPARQL query, an OAI-PMH form, a CKAN action's JSON) may hold at most
:data:`PUBLIC_BODY_BYTES`, so no public endpoint reads an unbounded body into
memory. A larger one is answered with 413, whether its size was declared or
only found while reading it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PUBLIC_BODY_BYTES = 1024 * 1024
BASELINE_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
OWN_POLICY_PATHS = ("/docs", "/redoc")
SELF_LIMITED_PATHS = ("/api/v1/",)


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


def _page_policy() -> str:
    from catalog.routes.pages import SECURITY_HEADERS

    return SECURITY_HEADERS["Content-Security-Policy"]


def _too_large(limit: int) -> list[dict]:
    body = f"the request body is larger than the limit of {limit} bytes\n".encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *((k.encode(), v.encode()) for k, v in BASELINE_HEADERS.items()),
        ],
    }
    return [start, {"type": "http.response.body", "body": body}]


class SecurityMiddleware:
    """ASGI middleware: baseline headers on every response, bounded bodies."""

    def __init__(self, app, body_limit: int = PUBLIC_BODY_BYTES):
        self.app = app
        self.body_limit = body_limit
        self.policy = _page_policy()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limited = not path.startswith(SELF_LIMITED_PATHS)
        if limited and self._declared_size(scope) > self.body_limit:
            await self._refuse(send)
            return
        started = False

        async def guarded_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = self._with_headers(message, path)
            await send(message)

        counted = _CountingReceive(receive, self.body_limit) if limited else receive
        try:
            await self.app(scope, counted, guarded_send)
        except BodyTooLarge:
            log.info("refused %s: body over %d bytes", path, self.body_limit)
            if not started:
                await self._refuse(send)

    async def _refuse(self, send) -> None:
        for message in _too_large(self.body_limit):
            await send(message)

    @staticmethod
    def _declared_size(scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0

    def _with_headers(self, message: dict, path: str) -> dict:
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        for name, value in BASELINE_HEADERS.items():
            if name.encode() not in present:
                headers.append((name.encode(), value.encode()))
        html = any(
            name.lower() == b"content-type" and value.startswith(b"text/html")
            for name, value in headers
        )
        own_policy = path.startswith(OWN_POLICY_PATHS)
        if html and not own_policy and b"content-security-policy" not in present:
            headers.append((b"content-security-policy", self.policy.encode()))
        return {**message, "headers": headers}


class _CountingReceive:
    def __init__(self, receive, limit: int):
        self.receive = receive
        self.limit = limit
        self.seen = 0

    async def __call__(self):
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise BodyTooLarge
        return message
