"""Alembic environment of the data center's record of which agencies' figures changed."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
