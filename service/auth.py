"""API keys and roles.

Keys travel as ``Authorization: Bearer <key>``; only their SHA-256 is stored. Roles: ``candidate`` submits
answers and sees only its own; ``rater`` also reads answers and records human scores; ``admin`` manages
everything. With ``GRADER_AUTH=open`` (the embedded default, loopback only) every caller acts as an anonymous
admin, except a caller that names a browser identity in ``X-Practice-Identity`` (the practice page does): it acts
as the candidate ``browser:<id>``, so each browser has its own answers and history. The header is ignored when keys
are on: it is a way to tell people apart on a single-user server, not a credential.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select

from grader.errors import Forbidden, InvalidInput, Unauthenticated
from service.auth_mode import AuthMode
from service.deps import SessionDep, SettingsDep
from service.tables import ApiKey

KEY_PREFIX = "ag_"
ANONYMOUS = "anonymous"
PRACTICE_IDENTITY_HEADER = "X-Practice-Identity"
BROWSER_OWNER_PREFIX = "browser:"
# 16 to 24 URL-safe characters: enough randomness to keep browsers apart, and "browser:" plus the id fits the
# 32-character owner column.
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{16,24}")


class Role(StrEnum):
    """What a key may do."""

    ADMIN = "admin"
    RATER = "rater"
    CANDIDATE = "candidate"


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    id: str
    """The key's id ('anonymous' or 'browser:<id>' in open mode); stored as the owner of answers."""
    name: str
    role: Role

    def can_see_everything(self) -> bool:
        """Raters and admins read every answer; candidates only their own."""
        return self.role in (Role.ADMIN, Role.RATER)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    """A new random key (shown once)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def browser_principal(identity: str) -> Principal:
    """The candidate a practice browser acts as in open mode, from its ``X-Practice-Identity`` header."""
    if not _BROWSER_ID.fullmatch(identity):
        raise InvalidInput(
            f"{PRACTICE_IDENTITY_HEADER} must be 16 to 24 characters from A-Z, a-z, 0-9, '_' and '-'; "
            "the practice page makes one up and keeps it in the browser."
        )
    return Principal(BROWSER_OWNER_PREFIX + identity, "practice browser", Role.CANDIDATE)


async def get_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The caller, from the bearer key (or, in open mode, anonymous admin or a practice browser)."""
    if settings.auth is AuthMode.OPEN:
        identity = request.headers.get(PRACTICE_IDENTITY_HEADER)
        if identity is not None:
            return browser_principal(identity)
        return Principal(ANONYMOUS, ANONYMOUS, Role.ADMIN)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated(
            "Send an API key as 'Authorization: Bearer <key>' (create one with `grader keys create`)."
        )
    row = (await session.execute(select(ApiKey).where(ApiKey.key_hash == hash_key(key.strip())))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("This API key is unknown or revoked.")
    return Principal(row.id, row.name, Role(row.role))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _role_check(*roles: Role) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = " or ".join(r.value for r in roles)
            raise Forbidden(f"This needs the role {allowed}; your key has the role {principal.role.value}.")
        return principal

    return check


def principal_with(*roles: Role) -> Any:
    """A route-level dependency admitting only ``roles`` (for routes that do not need the principal)."""
    return Depends(_role_check(*roles))


StaffDep = Annotated[Principal, Depends(_role_check(Role.ADMIN, Role.RATER))]
"""A rater or an admin."""
