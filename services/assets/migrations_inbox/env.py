"""Alembic environment of the assets service's inbox of accepted procurement deliveries."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
