"""`pli receipts show|answer`: who acknowledged a sent message, and the receipts pass run by hand."""
from __future__ import annotations

import sys

from pli.core.cli.common import add_actions, add_output, message_id_arg, report_to
from pli.core.errors import PliError
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("receipts", help="signed receipts of delivery and reading (docs/RECEIPTS.md)")
    cmds = add_actions(p, "receipts")
    show = cmds.add_parser("show", help="the receipts recorded on a sent message")
    show.add_argument("message_id", metavar="ID", help="the sent message's id, as `pli search tag:sent` prints it")
    add_output(show)
    show.set_defaults(func=run_show)
    answer = cmds.add_parser("answer", help="answer the receipts asked for and check those received, "
                                            "as `pli new` does after storing (e.g. after a crash); with ID, "
                                            "send or decline the MSSanté read receipt waiting for your consent")
    answer.add_argument("message_id", metavar="ID", nargs="?",
                        help="an MSSanté mail tagged mdn-confirm (`pli search tag:mdn-confirm`)")
    choice = answer.add_mutually_exclusive_group()
    choice.add_argument("--send", action="store_true", help="send its read receipt (MDN) through its account")
    choice.add_argument("--decline", action="store_true", help="send none, and never ask again")
    add_output(answer)
    answer.set_defaults(func=run_answer)


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.receipts import acknowledgements
    from pli.core.receipts.mssante_reports import reports_on
    from pli.core.store import Store
    from pli.core.store.layout import Layout

    home = Home.resolve(args.home)
    message_id = message_id_arg(args.message_id)
    with Store.open(home) as store:
        store.summary(message_id)          # MessageNotFound names a wrong id
    found = acknowledgements(Layout(home), message_id)
    reports = reports_on(Layout(home), message_id)           # MDNs and DSNs of an MSSanté mail
    if not found and not reports:
        raise PliError(f"no receipt recorded for {message_id}")
    with report_to(args) as out:
        for ack in found:
            behalf = f"  for {ack.recipient}" if ack.recipient else ""
            print(f"{ack.time.strftime('%Y-%m-%d %H:%M:%S UTC')}  {ack.kind:<8}  {ack.address}{behalf}", file=out)
        for report in reports:
            print(f"{report.time.strftime('%Y-%m-%d %H:%M:%S UTC')}  {report.summary()}", file=out)
    return 0


def run_answer(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.receipts import after_import

    from pli.core.store import Store

    home = Home.resolve(args.home)
    if args.message_id is not None or args.send or args.decline:
        return _answer_consent(home, args)
    with Store.open(home) as store:
        due = store.count("tag:receipt-due")
    if not due:                           # no passphrase asked for nothing
        print("receipts: nothing due", file=sys.stderr)
        return 0
    rendered = after_import(home, unlock(home)).render()
    if not rendered:
        print("receipts: nothing due", file=sys.stderr)
        return 0
    with report_to(args) as out:
        print(rendered, file=out)
    return 0


def _answer_consent(home: Home, args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.errors import UsageError
    from pli.core.mail.mssante_mdn import answer_consent

    if args.message_id is None or not (args.send or args.decline):
        raise UsageError("pli receipts answer ID needs --send or --decline (and --send/--decline needs the ID)")
    message_id = message_id_arg(args.message_id)
    said = answer_consent(home, message_id, args.send, unlock(home))
    with report_to(args) as out:
        print(said, file=out)
    return 0
