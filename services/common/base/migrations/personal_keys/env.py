"""Alembic environment of the personal-data key store (one data key per data subject, ``subject_keys``)."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
