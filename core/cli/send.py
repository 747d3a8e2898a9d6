"""`pli send`: seal a message, queue it in the outbox, submit it over SMTP; `--flush` retries the outbox."""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.errors import UsageError
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("send", help="seal a message (a MIME mail) for recipients and send it; "
                                    "--flush retries what waits in the outbox")
    p.add_argument("file", nargs="?", type=Path, help="the message to seal (default: stdin)")
    p.add_argument("--to", help="ADDR[,ADDR...]: seal for these recipients")
    p.add_argument("--mode", choices=["otp", "stream"], help="default: otp where a pad allows, else stream")
    p.add_argument("--receipt", metavar="KINDS",
                   help="ask the recipients for signed receipts: delivery, read, delivery,read or none "
                        "(default: the [receipts] ask setting)")
    p.add_argument("--account", help="the [accounts.NAME] to send through (default: the default account)")
    p.add_argument("--queue-only", action="store_true", help="seal and queue, do not submit now")
    p.add_argument("--flush", action="store_true", help="submit what waits in the outbox")
    p.add_argument("--retry-refused", action="store_true",
                   help="with --flush: also retry mail a server refused for good")
    p.add_argument("--list", action="store_true", help="show what waits in the outbox and why")
    p.add_argument("--set-password", metavar="ACCOUNT",
                   help="store ACCOUNT's password in the keyring (read from the terminal, or stdin when piped)")
    p.set_defaults(func=run)


def run(args) -> int:
    home = Home.resolve(args.home)
    if args.set_password:
        return _set_password(home, args.set_password)
    if args.list:
        return _list(home)
    if args.flush:
        if args.to or args.file:
            raise UsageError("--flush sends what is queued: give no message and no --to")
        return _flush(home, args.account, None, retry_refused=args.retry_refused)
    if not args.to:
        raise UsageError("--to is required to send a message (or use --flush / --list)")
    return _send(home, args)


def _send(home: Home, args) -> int:
    import email
    import email.policy

    from pli.core.cli.keys import read_input
    from pli.core.crypto.envelope import seal_mail
    from pli.core.crypto.passphrase import unlock
    from pli.core.transport import outbox
    from pli.core.transport.accounts import choose_account
    from pli.core.audit import home_journal
    from pli.core import receipts

    account = None if args.queue_only else choose_account(home, args.account)  # fail before sealing
    kinds = receipts.kinds_to_ask(home, args.receipt)
    inner = email.message_from_bytes(read_input(args.file), policy=email.policy.default)
    keyring = unlock(home)
    to = [a.strip() for a in args.to.split(",") if a.strip()]
    inner = receipts.ask(inner, kinds)
    sealed = seal_mail(inner, keyring, to, mode=args.mode)
    queued = outbox.queue(home, sealed, inner)  # durable before anything leaves
    journal = home_journal(home, keyring)
    journal.record("sealed", queued.envelope_id, recipients=list(queued.recipients))
    receipts.record_request(journal, queued.envelope_id, kinds, str(inner.get("Message-ID", "")))
    print(f"queued {queued.envelope_id} for {', '.join(queued.recipients)}", file=sys.stderr)
    if account is None:
        return 0
    return _flush(home, account.name, keyring, only_keys={queued.key}, journal=journal)


def _flush(home: Home, account_name: str | None, keyring, only_keys=None, retry_refused=False, journal=None) -> int:
    from pli.core.crypto.passphrase import unlock
    from pli.core.transport import outbox
    from pli.core.transport.accounts import choose_account

    choose_account(home, account_name)   # a config problem shows before the passphrase prompt
    if not outbox.pending(home):
        print("the outbox is empty", file=sys.stderr)
        return 0
    keyring = keyring or unlock(home)
    if retry_refused and only_keys is None:
        only_keys = {q.key for q in outbox.pending(home)}
    report = outbox.flush_account(home, keyring, account_name, only_keys, journal)
    print(report.render(), file=sys.stderr)
    return 0 if not report.failed and not report.not_tried else 75


def _list(home: Home) -> int:
    from datetime import datetime

    from pli.core.transport import outbox

    waiting = outbox.pending(home)
    for q in waiting:
        when = datetime.fromtimestamp(q.last_try).strftime("%Y-%m-%d %H:%M") if q.last_try else "never"
        status = ("refused: " if q.permanent else "waiting: ") + (q.last_error or "not tried yet")
        print(f"{q.envelope_id}  to {', '.join(q.recipients)}  tries {q.attempts} (last {when})  {status}")
    print(f"{len(waiting)} in the outbox", file=sys.stderr)
    return 0


def _set_password(home: Home, account: str) -> int:
    import getpass

    from pli.core.transport.secrets import store_account_password

    if sys.stdin.isatty():
        secret = getpass.getpass(f"Password of account {account}: ")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if not secret:
        raise UsageError("an empty password: nothing stored")
    store_account_password(home, account, secret)
    print(f"the password of account {account} is sealed in the keyring", file=sys.stderr)
    return 0
