"""Organisations, users and API tokens.

A token is ``cf_<lookup>_<secret>``: the lookup part finds the row, the
secret is checked against a SHA-256 hash in constant time. The full token is
returned once, when it is created, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db.models import ApiToken, AuditEvent, Organization, Role, User

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_RE = re.compile(r"^cf_([A-Za-z0-9]{12})_([A-Za-z0-9_\-]{32,64})$")


class AuthError(PermissionError):
    """A token is missing, malformed, unknown, revoked or not allowed."""


class InvalidInput(ValueError):
    """An organisation, user or token request is malformed."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user behind a valid token and its organisation."""

    user_id: str
    email: str
    role: str
    organization_id: str
    organization_slug: str
    token_id: str | None = None

    def can_write(self, organization_id: str) -> bool:
        return self.organization_id == organization_id


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_slug(slug: str, what: str = "slug") -> str:
    if not SLUG_RE.match(slug or ""):
        raise InvalidInput(
            f"{what} {slug!r}: expected 1-100 lower-case letters, digits and "
            "hyphens, not starting or ending with a hyphen"
        )
    return slug


def create_organization(
    session: Session, slug: str, name: str, **fields
) -> Organization:
    check_slug(slug, "organisation slug")
    if session.scalar(select(Organization).where(Organization.slug == slug)):
        raise InvalidInput(f"organisation {slug!r} already exists")
    org = Organization(slug=slug, name=name or slug, **fields)
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, slug: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise InvalidInput(f"organisation {slug!r} does not exist")
    return org


def create_user(
    session: Session, email: str, name: str, organization: Organization, role: str
) -> User:
    if not EMAIL_RE.match(email or ""):
        raise InvalidInput(f"email {email!r}: expected an address like name@host.org")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role {role!r}: expected one of admin, maintainer")
    if session.scalar(select(User).where(User.email == email)):
        raise InvalidInput(f"user {email!r} already exists")
    user = User(email=email, name=name or email, organization=organization, role=role)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the secret shown once."""
    lookup = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        organization_id=user.organization_id,
        name=name,
        lookup=lookup,
        token_hash=_hash(secret),
    )
    session.add(row)
    session.flush()
    return row, f"cf_{lookup}_{secret}"


def revoke_token(session: Session, lookup: str) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.lookup == lookup))
    if row is None:
        raise InvalidInput(f"token {lookup!r} does not exist")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


def authenticate(session: Session, token: str | None) -> Principal:
    """Resolve a bearer token to a principal.

    Raises
    ------
    AuthError
        If the token is missing, malformed, unknown or revoked, or its user is
        inactive. The message does not say which part was wrong beyond that.
    """
    if not token:
        raise AuthError("an API token is required (Authorization: Bearer cf_...)")
    match = TOKEN_RE.match(token.strip())
    if match is None:
        raise AuthError("the API token is malformed; expected cf_<id>_<secret>")
    row = session.scalar(select(ApiToken).where(ApiToken.lookup == match.group(1)))
    expected = row.token_hash if row is not None else _hash("")
    valid = hmac.compare_digest(expected, _hash(match.group(2)))
    if row is None or not valid:
        raise AuthError("the API token is not valid")
    if row.revoked_at is not None:
        raise AuthError("the API token has been revoked")
    user = row.user
    if not user.active:
        raise AuthError("the API token's user is deactivated")
    row.last_used_at = datetime.now(UTC)
    return Principal(
        user_id=user.id,
        email=user.email,
        role=user.role,
        organization_id=row.organization_id,
        organization_slug=user.organization.slug,
        token_id=row.id,
    )


def audit(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None,
    outcome: str = "ok",
    reason: str = "",
    **detail,
) -> AuditEvent:
    """Append one event to the audit log (committed with the caller's session)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        reason=reason,
        detail=detail,
    )
    session.add(event)
    return event


ORCID_RE = re.compile(r"^(?:https://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


def check_orcid(orcid: str) -> str:
    """Return the bare ORCID iD after checking its ISO 7064 11,2 checksum."""
    match = ORCID_RE.match(orcid or "")
    if match is None:
        raise InvalidInput(
            f"orcid {orcid!r}: expected 0000-0000-0000-000X or "
            "https://orcid.org/0000-0000-0000-000X"
        )
    digits = match.group(1).replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    if digits[-1] != expected:
        raise InvalidInput(f"orcid {orcid!r}: the check digit should be {expected}")
    return match.group(1)
