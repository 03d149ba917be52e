"""Alembic environment of the gateway tables (API tokens and the data-center projections)."""

from alembic import context

from services.common.db import run_migrations_online

run_migrations_online(context)
