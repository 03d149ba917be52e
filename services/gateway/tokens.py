"""Manage API tokens: ``python -m services.gateway.tokens create --name alice --role city_admin``.

The token is printed once; only its hash is stored in the gateway database.
"""

from __future__ import annotations

import argparse

from services.common.base.db import create_db_engine
from services.common.base.settings import settings
from services.common.kernel.errors import PlatformError
from services.gateway import auth
from services.gateway.views import prepare_database


def main(argv: list[str] | None = None) -> None:
    """Create or revoke a token."""
    parser = argparse.ArgumentParser(description="manage API tokens of the gateway")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a token and print it")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=auth.ROLES)
    create.add_argument("--district", help="six-digit district code (district operators only)")
    create.add_argument(
        "--days", type=int, help=f"expire after this many days (1-{auth.MAX_TOKEN_DAYS}; left out: never)"
    )
    revoke = sub.add_parser("revoke", help="revoke a token by its id (the part after gov_)")
    revoke.add_argument("token_id")
    args = parser.parse_args(argv)
    try:  # an unknown district, --days 0, a name taken: said, not a traceback
        if args.action == "create":
            auth.check_token_request(args.name, args.role, args.district, args.days)
        engine = create_db_engine(settings().database_url("gateway"))
        prepare_database(engine)
        if args.action == "create":
            print(auth.create_token(engine, args.name, args.role, args.district, args.days))
        elif not auth.revoke_token(engine, args.token_id):
            raise SystemExit(f"no token {args.token_id}")
    except PlatformError as refused:
        reasons = "; ".join(f"{field}: {', '.join(why)}" for field, why in refused.fields.items())
        raise SystemExit(f"refused: {refused.message}" + (f" ({reasons})" if reasons else "")) from None


if __name__ == "__main__":
    main()
