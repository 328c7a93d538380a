"""`careflow`: the one entry point for operators. Thin: each command calls into shared/ or services/."""

from __future__ import annotations

import argparse
import importlib
import sys

from shared.settings import settings


def load_service(name: str):
    """`normalizer` → services.normalizer.handler:SERVICE; `package.module:ATTR` as written."""
    module_name, _, attribute = name.partition(":") if ":" in name else (f"services.{name}.handler", ":", "SERVICE")
    return getattr(importlib.import_module(module_name), attribute)


def cmd_service(args) -> int:
    from shared.logs import configure_logging
    from shared.runtime import ServiceRunner

    service = load_service(args.name)
    configure_logging(settings().log_level, service.name)
    ServiceRunner(service, settings()).run()
    return 0


def cmd_db_upgrade(_args) -> int:
    from shared.store import migrate

    migrate(settings().database_url)
    return 0


def cmd_schemas_snapshot(_args) -> int:
    from shared.contracts import snapshot_history

    for path in snapshot_history():
        print(f"kept {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    service = commands.add_parser("service", help="run one consumer service (an instance of its group)")
    service.add_argument("name", help="a folder of services/, e.g. normalizer")
    service.set_defaults(func=cmd_service)

    db = commands.add_parser("db", help="the store").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(func=cmd_db_upgrade)

    schemas = commands.add_parser("schemas", help="the Avro contract").add_subparsers(dest="schemas_command", required=True)
    schemas.add_parser("snapshot", help="keep the current schema versions in schemas/history").set_defaults(
        func=cmd_schemas_snapshot)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
