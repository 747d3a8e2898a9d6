"""`pli show ID`: a stored message in clear, or its summary line and text body."""
from __future__ import annotations

from pli.core.cli.common import add_output, message_id_arg, report_to, summary_line, write_report
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("show", help="print a stored message in clear (by message id)")
    p.add_argument("message_id", metavar="ID", help="a message id, as `pli search` prints it")
    p.add_argument("--summary", action="store_true", help="print the summary line and the body only")
    add_output(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store import Store

    message_id = message_id_arg(args.message_id)
    with Store.open(Home.resolve(args.home)) as store:
        if not args.summary:
            write_report(args, store.read_clear(message_id))
            return 0
        summary = store.summary(message_id)
        raw = store.read_clear(message_id)
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    with report_to(args) as out:
        print(summary_line(summary), file=out)
        _print_revocation(Home.resolve(args.home), raw, out)
        print(file=out)
        print(body.get_content() if body is not None else "(no text part)", file=out)
    return 0


def _print_revocation(home: Home, raw: bytes, out) -> None:
    """The line a message signed with a key the directory revoked is shown with (pli.core.directory.resolve)."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.stored import check_stored
    from pli.core.store.headers import first_values

    line, refused = check_stored(home, first_values(raw))
    if line:
        print(f"{'NOT TRUSTED' if refused else 'WARNING'}: {line}", file=out)
