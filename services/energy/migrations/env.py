"""Alembic environment of the energy read models."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
