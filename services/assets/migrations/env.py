"""Alembic environment of the assets read models (the service's and the data center's)."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
