"""Alembic environment of the procurement service's read models (catalog, budgets, tenders, findings...)."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
