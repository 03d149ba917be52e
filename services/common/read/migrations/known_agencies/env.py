"""Alembic environment of the known-agencies table (a service's view of the agency master data)."""

from alembic import context

from services.common.base.db import run_migrations_online

run_migrations_online(context)
