"""Alembic environment: runs migrations with a synchronous driver on SQLite or PostgreSQL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from service.db import attach_sqlite_pragmas, ensure_sqlite_dir, sync_url
from service.settings import get_settings
from service.tables import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave the job queue's tables out of the comparison with our models: procrastinate defines them."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def _url() -> str:
    url = config.attributes.get("database_url") or get_settings().resolved_database_url()
    return str(url)


def run_migrations_offline() -> None:
    """Emit SQL without a connection (``alembic upgrade --sql``)."""
    url = sync_url(_url())
    context.configure(
        url=url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over a real connection."""
    url = sync_url(_url())
    ensure_sqlite_dir(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    attach_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
            render_as_batch=url.get_backend_name() == "sqlite",
            compare_type=True,
            include_name=_ours,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
