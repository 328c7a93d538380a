"""`careflow`: the one entry point for operators. Thin: each command calls into shared/ or services/."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from shared.config import settings


def load_service(name: str):
    """A registered service by its name (`care-cases`), or `package.module:ATTR` as written (tests, bench)."""
    import services

    if ":" not in name:
        try:
            return services.load(name)
        except LookupError as exc:
            raise SystemExit(str(exc)) from None
    module_name, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def cmd_service(args) -> int:
    from shared.clock import clock_for
    from shared.observability.logs import configure_logging
    from shared.runner.loop import ServiceRunner

    service = load_service(args.name)
    configure_logging(settings().log_level, service.name)
    ServiceRunner(service, settings(), clock=clock_for(settings().clock_file)).run()
    return 0


def cmd_db_upgrade(_args) -> int:
    from shared.store import migrate

    migrate(settings().database_url)
    return 0


def cmd_schemas_snapshot(_args) -> int:
    from shared.contract.registry import snapshot_history

    for path in snapshot_history():
        print(f"kept {path}")
    return 0


def _publisher():
    from shared.kafka import Publisher, ensure_all_topics, retention_ms

    config = settings()
    ensure_all_topics(config, config.partitions, config.topic_prefix,
                      retention_ms(config.personal_data_retention_days))
    return Publisher(config, "careflow-import", config.topic_prefix)


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs or ():
        header, sep, field_name = pair.rpartition("=")
        if not sep or not header or not field_name:
            raise SystemExit(f"--map expects 'Header in file=field', got {pair!r}")
        mapping[header] = field_name
    return mapping


def _print_import_summary(summary) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    console.print(f"rows read: [bold]{summary.rows}[/]  events published: [bold green]{summary.published}[/]  "
                  f"rejected: [bold {'red' if summary.rejected else 'green'}]{summary.rejected}[/]")
    if summary.reject_file:
        console.print(f"rejected rows (row, field, reason) are in {summary.reject_file}")
    return 0


def _store(for_writes: bool = False):
    """`for_writes`: a command that reads then writes takes SQLite's write lock up front, as the services
    do; otherwise a service committing between its read and its write makes the write fail at once
    ("database is locked": a WAL reader's snapshot cannot become a writer's) instead of waiting."""
    from shared.store import session_factory

    return session_factory(settings().database_url, for_writes=for_writes)()


def _suppressed(session):
    from shared.operators.privacy import import_check

    return import_check(session, settings())


def cmd_import(args) -> int:
    from shared.operators.imports import import_leads

    with _store() as session:
        return _print_import_summary(import_leads(args.file, _publisher(), _mapping(args.map), progress=not args.quiet,
                                                  suppressed=_suppressed(session)))


def cmd_consent_import(args) -> int:
    from shared.operators.imports import CONSENT_COLUMNS, consent_fields, run_import
    from shared.clock import utc_now

    with _store() as session:
        return _print_import_summary(run_import(args.file, "consent-changed", CONSENT_COLUMNS, ("contact", "status"),
                                                consent_fields(args.source or args.file.name, utc_now), _publisher(),
                                                _mapping(args.map), progress=not args.quiet,
                                                suppressed=_suppressed(session)))


def cmd_subscribers_import(args) -> int:
    from shared.operators.imports import SUBSCRIBER_COLUMNS, run_import, subscriber_fields

    required = ("msisdn", "owner_type", "subscription_type", "subscribed_since")
    with _store() as session:
        return _print_import_summary(run_import(args.file, "subscriber-upserted", SUBSCRIBER_COLUMNS, required,
                                                subscriber_fields, _publisher(), _mapping(args.map),
                                                progress=not args.quiet, suppressed=_suppressed(session)))


def _identifier(args) -> tuple[str, str]:
    given = [(kind, getattr(args, kind)) for kind in ("phone", "email", "tax_code", "subscriber")
             if getattr(args, kind, None)]
    if len(given) != 1:
        raise SystemExit("name the person by exactly one of --phone, --email, --tax-code, --subscriber")
    return given[0]


def cmd_privacy(args) -> int:
    from shared.clock import clock_for
    from shared.operators import privacy
    from shared.privacy.subjects import PrivacyKeyMissing

    now = clock_for(settings().clock_file)()
    try:
        with _store(for_writes=args.privacy_command != "requests") as session:
            if args.privacy_command == "requests":
                for r in privacy.open_requests(session, now):
                    print(f"{'OVERDUE ' if r.overdue else ''}{r.kind:<10} {r.request_id}  received "
                          f"{r.received_at:%Y-%m-%d %H:%M}  due {r.due_at:%Y-%m-%d %H:%M} UTC  subject {r.subject_id[:16]}…")
                return 0
            kind, value = _identifier(args)
            if args.privacy_command == "erase":
                print("\n".join(privacy.erase(session, _publisher(), settings(), kind, value, now).lines()))
            elif args.privacy_command == "access":
                export = privacy.to_json(privacy.access(session, settings(), kind, value, now))
                if args.output:
                    args.output.write_text(export, encoding="utf-8")
                    print(f"export written to {args.output}", file=sys.stderr)
                else:
                    print(export)
            else:
                print(f"withdrawal request {privacy.withdraw(session, _publisher(), settings(), kind, value, now)}: "
                      "consent withdrawn for every channel")
    except (ValueError, PrivacyKeyMissing) as exc:
        raise SystemExit(str(exc)) from None
    return 0


def cmd_normalize(args) -> int:
    from shared.operators.imports import normalize_file

    with open(args.output, "w", encoding="utf-8") as out:
        counts = normalize_file(args.input, out, _mapping(args.map))
    for name, count in sorted(counts.items()):
        print(f"{name}: {count}", file=sys.stderr)
    return 0


def cmd_eligibility(args) -> int:
    """One output line per input line, in order: the decision, or the error of that line."""
    import json

    from shared.domain.profiles import explain_call

    lines = errors = 0
    for lines, line in enumerate(args.input, start=1):
        try:
            result = {"line": lines, **explain_call(json.loads(line))}
        except Exception as exc:  # a bad line is reported in place; the next one is read
            result = {"line": lines, "error": str(exc) if line.strip() else "empty line"}
            errors += 1
        print(json.dumps(result, ensure_ascii=False))
    print(f"lines: {lines}, decided: {lines - errors}, errors: {errors}", file=sys.stderr)
    return 1 if errors else 0


def _report(name: str, args) -> int:
    import json

    from shared.operators import reports
    from shared.clock import clock_for
    from shared.store import session_factory

    with session_factory(settings().database_url)() as session:
        if name == "cases":
            report = reports.cases(session, clock_for(settings().clock_file)())
        else:
            report = getattr(reports, name)(session)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        reports.render({"funnel": "Outreach funnel", "profiles": "Subscriber profiles",
                        "cases": "After-sales care cases"}[name], report)
    return 0


def cmd_acl_plan(_args) -> int:
    import services
    from shared.kafka.acls import plan, render

    print(render(plan((services.load(name) for name in services.REGISTRY), settings().topic_prefix)))
    return 0


def cmd_dlq(args) -> int:
    import datetime as dt
    import getpass
    import json

    from shared.operators import dlq

    config = settings()
    since, until = (dt.datetime.fromisoformat(t) if t else None for t in (args.since, args.until))
    letters = dlq.dead_letters(config, config.topic_prefix, args.topic, args.error_type,
                               since, until)
    if args.coordinates:
        letters = [letter for letter in letters if letter.coordinates in set(args.coordinates)]
    if args.dlq_command == "list":
        replays = dlq.replayed(config, config.topic_prefix)
        if args.json:
            print(json.dumps([{"coordinates": l.coordinates, "at": l.at.isoformat(), "error_type": l.error_type,
                               "replayed": replays.get(l.coordinates)} for l in letters], indent=2))
        else:
            dlq.render_list(letters, replays)
    elif args.dlq_command == "show":
        print(json.dumps([dlq.show(letter, config.topic_prefix) for letter in letters], ensure_ascii=False, indent=2))
    else:
        if not (args.coordinates or args.topic or args.error_type or args.since):
            raise SystemExit("replay which? name records (TOPIC:PARTITION:OFFSET) or a --topic/--error-type/--since")
        done, skipped = dlq.replay(config, letters, args.by or getpass.getuser(),
                                   config.topic_prefix)
        print(f"replayed {len(done)} record(s) to their source topic; {len(skipped)} replayed before, skipped")
        for coordinates in skipped:
            print(f"  already replayed: {coordinates}", file=sys.stderr)
    return 0


def cmd_up(args) -> int:
    from shared.local.stack import up

    return up(demo=args.demo, exit_after_demo=args.exit_after_demo)


def cmd_console(args) -> int:
    from shared.console.serve import run

    return run(args.host, args.port)


def cmd_users_add(args) -> int:
    from shared.console.serve import add_user

    return add_user(args.name, args.role, args.unit, args.password_file)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    service = commands.add_parser("service", help="run one consumer service (an instance of its group)")
    service.add_argument("name", help="a registered service, e.g. normalizer or care-cases (careflow up runs them all)")
    service.set_defaults(func=cmd_service)

    def with_file(parser, help_text):
        parser.add_argument("file", type=Path, help=help_text)
        parser.add_argument("--map", action="append", metavar="HEADER=FIELD",
                            help="read the column with this header as this field (repeatable)")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        return parser

    with_file(commands.add_parser("import", help="import a Vietnam Social Security list of enterprises (CSV/XLSX)"),
              "the list").set_defaults(func=cmd_import)
    consent = commands.add_parser("consent", help="consent and Do-Not-Call lists").add_subparsers(
        dest="consent_command", required=True)
    consent_import = with_file(consent.add_parser("import", help="load consent / DNC / opt-out records"), "the list")
    consent_import.add_argument("--source", help="where the evidence comes from (default: the file name)")
    consent_import.set_defaults(func=cmd_consent_import)
    subscribers = commands.add_parser("subscribers", help="subscriber master data").add_subparsers(
        dest="subscribers_command", required=True)
    with_file(subscribers.add_parser("import", help="load a CSV/XLSX snapshot of the CRM"), "the snapshot").set_defaults(
        func=cmd_subscribers_import)

    normalize = commands.add_parser("normalize", help="apply the normalization rules offline to a list")
    normalize.add_argument("input", type=Path)
    normalize.add_argument("--output", type=Path, required=True, help="JSON lines, one per data row")
    normalize.add_argument("--map", action="append", metavar="HEADER=FIELD",
                           help="read the column with this header as this field (repeatable), as import does")
    normalize.set_defaults(func=cmd_normalize)

    eligibility = commands.add_parser("eligibility", help="explain the profile-collection decision offline")
    eligibility.add_argument("input", type=argparse.FileType("r", encoding="utf-8-sig", errors="replace"),
                             help="JSON lines")
    eligibility.set_defaults(func=cmd_eligibility)

    for name, help_text in (("funnel", "where the leads stand, overall and per province"),
                            ("profiles", "profile completion, provenance, prompts and skips"),
                            ("cases", "care cases: open, SLA breaches, time to resolve")):
        report = commands.add_parser(name, help=help_text)
        report.add_argument("--json", action="store_true")
        report.set_defaults(func=lambda args, name=name: _report(name, args))

    privacy = commands.add_parser("privacy", help="data-subject requests: erase, access, withdraw; open requests")
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True)
    for name, help_text in (("erase", "erase a person from every store and suppress them (tells downstream)"),
                            ("access", "export everything careflow holds about a person, consent evidence included"),
                            ("withdraw", "withdraw a person's consent to every channel")):
        command = privacy_commands.add_parser(name, help=help_text)
        for option in ("--phone", "--email", "--tax-code", "--subscriber"):
            command.add_argument(option)
        if name == "access":
            command.add_argument("--output", type=Path, help="write the export (JSON) here instead of stdout")
        command.set_defaults(func=cmd_privacy)
    privacy_commands.add_parser("requests", help="open data-subject requests, overdue first").set_defaults(
        func=cmd_privacy)

    up = commands.add_parser("up", help="start the broker (unless KAFKA_BOOTSTRAP_SERVERS) and every service")
    up.add_argument("--demo", action="store_true", help="then play a demonstration through both processes")
    up.add_argument("--exit-after-demo", action="store_true", help="stop everything once the demonstration is done")
    up.set_defaults(func=cmd_up)

    acl = commands.add_parser("acl", help="Kafka ACLs").add_subparsers(dest="acl_command", required=True)
    acl.add_parser("plan", help="print the ACLs a cluster needs for careflow's services (kafka-acls.sh commands)"
                   ).set_defaults(func=cmd_acl_plan)
    from shared.console.serve import DEFAULT_PORT

    console = commands.add_parser("console", help="the operator web console")
    console.add_argument("--host", default="127.0.0.1")
    console.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    console.set_defaults(func=cmd_console)
    users = commands.add_parser("users", help="the console's users").add_subparsers(dest="users_command", required=True)
    users_add = users.add_parser("add", help="add a user (the password is asked, or read from --password-file)")
    users_add.add_argument("name")
    users_add.add_argument("--role", required=True, help="admin, tct_supervisor, bdt_staff, care_agent, "
                                                         "callcentre_supervisor or dpo")
    users_add.add_argument("--unit", help="BDT-<province code> for BĐT staff, e.g. BDT-24")
    users_add.add_argument("--password-file", type=Path)
    users_add.set_defaults(func=cmd_users_add)
    dead = commands.add_parser("dlq", help="dead letters: list, show (personal data masked), replay once").add_subparsers(
        dest="dlq_command", required=True)
    for name, help_text in (("list", "dead letters by topic, error type and time"),
                            ("show", "dead letters in full, personal data masked"),
                            ("replay", "send dead letters back to their source topic, each once")):
        command = dead.add_parser(name, help=help_text)
        command.add_argument("coordinates", nargs="*", metavar="TOPIC:PARTITION:OFFSET", help="as `list` prints them")
        command.add_argument("--topic", help="the source topic, e.g. lead-imported")
        command.add_argument("--error-type", help="e.g. OutputTooLarge, Rejected, DecodeError")
        command.add_argument("--since", help="ISO time, e.g. 2026-05-04T09:00+07:00")
        command.add_argument("--until", help="ISO time")
        if name == "list":
            command.add_argument("--json", action="store_true")
        if name == "replay":
            command.add_argument("--by", help="who replays (recorded; default: the login name)")
        command.set_defaults(func=cmd_dlq)

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
