"""Creating, listing and revoking API keys (used by ``grader keys``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grader.errors import NotFound
from service.auth import Role, generate_key, hash_key
from service.repository import new_id
from service.tables import ApiKey, utcnow


async def create_key(session: AsyncSession, role: Role, name: str) -> tuple[ApiKey, str]:
    """Store a new key's hash; return the row and the key itself (which is never stored)."""
    key = generate_key()
    row = ApiKey(id=new_id(), name=name, role=role.value, key_hash=hash_key(key))
    session.add(row)
    await session.commit()
    return row, key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, oldest first."""
    return list((await session.execute(select(ApiKey).order_by(ApiKey.created_at))).scalars())


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    """Mark a key revoked; requests with it get 401 from then on."""
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key has id {key_id!r}; see `grader keys list`.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.commit()
    return row
