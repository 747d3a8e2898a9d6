"""`pli import`, `pli new`, `pli search`, `pli show`: filling the store and reading it from a shell."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("import", help="import mail (Maildir folders, mbox files, .eml files) into the store")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    p.set_defaults(func=run_import)

    p = sub.add_parser("new", help="store what was delivered into the incoming Maildir since the last run")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    p.set_defaults(func=run_new)

    p = sub.add_parser("search", help="search the store (notmuch syntax plus shortcuts: abnormal, "
                                      "critical, unread, lab, quarantine, patient:NAME)")
    p.add_argument("query", nargs="*", help="the query (default: everything)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages (newest first)")
    p.add_argument("--offset", type=int, default=0, help="skip this many messages first")
    p.set_defaults(func=run_search)

    p = sub.add_parser("show", help="print a stored message in clear (by message id)")
    p.add_argument("message_id", metavar="ID", help="a message id, as `pli search` prints it")
    p.add_argument("--summary", action="store_true", help="print the summary line and the body only")
    p.set_defaults(func=run_show)


def _importer_run(args, paths):
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.receive import receive
    from pli.core.store.progress import Progress

    home = Home.resolve(args.home)
    progress = Progress.for_stream(sys.stderr, quiet=args.quiet)
    report = receive(home, paths, workers=args.workers, progress=progress)
    return reported(report)


def reported(report) -> int:
    """Print an import's summary; its exit status.  A replay or pad reuse is an alarm (exit 6, the
    SECURITY ALERT on stderr), whatever else the run did; else 1 when a message could not be read."""
    print(report.render(), file=sys.stdout)
    if report.alerts:
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.crypto.refusals import ReplayAlert

        for line in report.render_alerts().splitlines():
            print(f"pli: {line}", file=sys.stderr)
        return ReplayAlert.exit_code
    return 0 if not report.failed else 1


def run_import(args) -> int:
    return _importer_run(args, args.paths)


def run_new(args) -> int:
    return _importer_run(args, None)


def _line(summary) -> str:
    when = datetime.fromtimestamp(summary.date).strftime("%Y-%m-%d %H:%M")
    tags = " ".join(sorted(summary.tags))
    lab = f"  [{summary.lab_summary}]" if summary.lab_summary else ""
    patient = f"  {summary.patient}" if summary.patient else ""
    return f"{when}  {summary.sender}{patient}  {summary.subject}{lab}  ({tags})  id:{summary.message_id}"


def run_search(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store import Store
    from pli.core.store.query import expand

    query = expand(" ".join(args.query))
    with Store.open(Home.resolve(args.home)) as store:
        limit = args.limit if args.limit is not None else store.count(query)
        rows = store.window(query, args.offset, limit)
    for row in rows:
        if args.format == "json":
            data = asdict(row)
            data["tags"] = sorted(row.tags)
            print(json.dumps(data, ensure_ascii=False))
        else:
            print(_line(row))
    return 0


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store import Store

    message_id = args.message_id.removeprefix("id:").strip("<>")
    with Store.open(Home.resolve(args.home)) as store:
        if not args.summary:
            sys.stdout.buffer.write(store.read_clear(message_id))
            sys.stdout.flush()
            return 0
        summary = store.summary(message_id)
        raw = store.read_clear(message_id)
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    print(_line(summary))
    _print_revocation(Home.resolve(args.home), raw)
    print()
    print(body.get_content() if body is not None else "(no text part)")
    return 0


def _print_revocation(home: Home, raw: bytes) -> None:
    """The line a message signed with a key the directory revoked is shown with (pli.core.directory.resolve)."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import check_stored
    from pli.core.store.headers import first_values

    line, refused = check_stored(home, first_values(raw))
    if line:
        print(f"{'NOT TRUSTED' if refused else 'WARNING'}: {line}")
