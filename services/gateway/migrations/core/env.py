"""Alembic environment of the gateway core tables (API tokens and the agency directory)."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
