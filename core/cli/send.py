"""`pli send`: seal a message, queue it in the outbox, submit it over SMTP; `--flush` retries the outbox."""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.cli.common import add_actions, addresses, add_output, flushed, read_input, report_to
from pli.core.errors import UsageError
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("send", help="seal a message for recipients and send it; list, flush the outbox")
    cmds = add_actions(p, "send")
    m = cmds.add_parser("message", help="seal a message (a MIME mail) for recipients, queue it and submit it")
    m.add_argument("file", nargs="?", type=Path, help="the message to seal (default: stdin)")
    m.add_argument("--to", required=True, help="ADDR[,ADDR...]: seal for these recipients")
    m.add_argument("--mode", choices=["otp", "stream"], help="default: otp where a pad allows, else stream")
    m.add_argument("--receipt", metavar="KINDS",
                   help="ask the recipients for signed receipts: delivery, read, delivery,read or none "
                        "(default: the [receipts] ask setting)")
    m.add_argument("--account", help="send everything through this [accounts.NAME] (default: each recipient's "
                                     "account by the send_to rules, else the default account)")
    m.add_argument("--queue-only", action="store_true", help="seal and queue, do not submit now")
    m.add_argument("--patient", metavar="'FAMILY, Given, YYYY-MM-DD'",
                   help="MSSanté recipients: the patient the attached documents are about (a CDA names its own)")
    m.add_argument("--ins", metavar="NIR", help="MSSanté recipients: the patient's INS (its 15-digit number)")
    add_output(m)
    m.set_defaults(func=lambda args: _send(Home.resolve(args.home), args))
    f = cmds.add_parser("flush", help="submit what waits in the outbox")
    f.add_argument("--account", help="submit through this [accounts.NAME] only")
    f.add_argument("--retry-refused", action="store_true", help="also retry mail a server refused for good")
    add_output(f)
    f.set_defaults(func=_flush_outbox)
    listing = cmds.add_parser("list", help="what waits in the outbox and why")
    add_output(listing)
    listing.set_defaults(func=lambda args: _list(Home.resolve(args.home), args))
    w = cmds.add_parser("password", help="store an account's password in the keyring "
                                            "(read from the terminal, or stdin when piped)")
    w.add_argument("account", help="the [accounts.NAME] whose password it is")
    w.add_argument("--server", choices=["smtp", "imap"],
                   help="the password of that server's login only (smtp_password / imap_password = "
                        "\"keyring\"); default: both servers' shared password")
    w.set_defaults(func=lambda args: _set_password(Home.resolve(args.home), args.account, args.server))


def _send(home: Home, args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    import email
    import email.policy

    from pli.core.directory.resolve import unlock
    from pli.core.transport.accounts import usable_accounts

    if not args.queue_only:
        usable_accounts(home, args.account)  # a config problem shows before sealing
    raw = read_input(args.file)
    inner = email.message_from_bytes(raw, policy=email.policy.default)
    keyring = unlock(home)
    to = addresses(args.to)
    mssante, patient = _mssante_plan(home, keyring, to, inner, args)
    to = [a for a in to if a not in mssante]
    if to:                                    # every refusal comes before anything is sent or sealed
        seal, accounts = send_plan(home, keyring, to, len(raw), args.mode, args.account)
        print(render_plan(seal, accounts), file=sys.stderr)
        problems = [a for a in accounts.values() if isinstance(a, Exception)]
        if problems and not args.queue_only:
            raise problems[0]                 # no account for a recipient: nothing is sealed
    with report_to(args) as out:          # what was submitted: the MSSanté package, then the sealed mail
        if mssante:
            _send_mssante(home, keyring, inner, mssante, patient, args.account, out)
        return _queue_and_submit(home, keyring, inner, to, args, out) if to else 0


def _queue_and_submit(home: Home, keyring, inner, to: list[str], args, out) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.send import seal_and_queue

    queued = seal_and_queue(home, keyring, inner, to, mode=args.mode, receipts=args.receipt)
    print(f"queued {queued.envelope_id} for {', '.join(queued.recipients)}", file=sys.stderr)
    if args.queue_only:
        return 0
    return _flush(home, args.account, keyring, out, only_keys={queued.key})


def _mssante_plan(home: Home, keyring, to: list[str], inner, args):
    """The recipients pli cannot seal to but the MSSanté directory lists (core/mail/routing.py), with the patient
    their documents are about; the plan on stderr.  Refused here, before anything is sent: --queue-only, a
    document without its patient."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.routing import needs_patient, route

    plan = route(home, keyring, to)
    if not plan.mssante:
        return [], None
    if args.queue_only:
        raise UsageError(f"{', '.join(plan.mssante)}: MSSanté mail is submitted at once, never queued: "
                         "send it without --queue-only")
    print("\n".join(plan.lines()), file=sys.stderr)
    patient = _patient(args.patient, args.ins)
    if patient is None and needs_patient(inner):
        raise UsageError("an attached document needs the patient it is about: give --patient "
                         "(and --ins when known)")
    return plan.mssante, patient


def _send_mssante(home: Home, keyring, inner, mssante: list[str], patient, account: str | None, out) -> None:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.routing import send_mssante

    message_id = send_mssante(home, keyring, inner, mssante, patient, account=account)
    print(f"sent {message_id} to {', '.join(mssante)} (MSSanté, transport-secured)", file=out)


def _patient(text: str | None, ins: str | None):
    """--patient 'FAMILY, Given, YYYY-MM-DD' and --ins NIR as the package names the patient; None without them."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.routing import patient_identity

    if text is None:
        if ins:
            raise UsageError("--ins needs --patient 'FAMILY, Given, YYYY-MM-DD'")
        return None
    parts = text.split(",")
    try:
        if len(parts) != 3:
            raise UsageError("not three parts")
        patient_identity(*parts)           # checked without the INS first: a refusal here is the form's
    except UsageError:
        raise UsageError(f"--patient {text!r} is not 'FAMILY, Given, YYYY-MM-DD'") from None
    return patient_identity(*parts, ins=ins or "")


WRAP_WORDS = {"content-pad": "one-time pad", "pad": "stream, its key sealed with a shared pad",
              "x25519": "stream, its key by X25519 (no pad shared)"}


def send_plan(home: Home, keyring, to: list[str], size: int, mode: str | None, account: str | None):
    """How the message will be sealed (pli.core.crypto.envelope.preview) and each recipient's account, or why none."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.envelope import preview
    from pli.core.transport.accounts import routed

    seal = preview(keyring, to, size, mode)
    return seal, routed(home, [address for address, _ in seal.wraps], account)


def render_plan(seal, accounts: dict) -> str:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.plural import counted

    lines = [f"plan: {seal.mode} mode, {counted(len(seal.wraps), 'recipient')}"]
    for address, wrap in seal.wraps:
        account = accounts[address]
        via = (f"no account: {account}" if isinstance(account, Exception)
               else f"via account {account.name} ({account.smtp or 'no smtp_host'})")
        lines.append(f"  {address}: {WRAP_WORDS.get(wrap, wrap)}; {via}")
    return "\n".join(lines)


def _flush_outbox(args) -> int:
    with report_to(args) as out:
        return _flush(Home.resolve(args.home), args.account, None, out, retry_refused=args.retry_refused)


def _flush(home: Home, account_name: str | None, keyring, out, only_keys=None, retry_refused=False) -> int:
    """Submit what waits (only_keys: those mails only); the report printed to `out`, the exit status."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.transport import outbox
    from pli.core.transport.accounts import usable_accounts

    usable_accounts(home, account_name)   # a config problem shows before the passphrase prompt
    if not outbox.pending(home):
        print("the outbox is empty", file=sys.stderr)
        return 0
    keyring = keyring or unlock(home)
    if retry_refused and only_keys is None:
        only_keys = {q.key for q in outbox.pending(home)}
    return flushed(outbox.flush_account(home, keyring, account_name, only_keys), out)


def _list(home: Home, args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from datetime import datetime

    from pli.core.plural import counted
    from pli.core.transport import outbox

    waiting = outbox.pending(home)
    with report_to(args) as out:
        _print_waiting(waiting, out)
    print(f"{counted(len(waiting), 'message')} in the outbox", file=sys.stderr)
    return 0


def _print_waiting(waiting, out) -> None:
    # start-up: `pli` loads what a command needs only when that command runs
    from datetime import datetime

    from pli.core.plural import counted

    for q in waiting:
        when = datetime.fromtimestamp(q.last_try).strftime("%Y-%m-%d %H:%M") if q.last_try else "never"
        status = ("refused: " if q.permanent else "waiting: ") + (q.last_error or "not tried yet")
        done = dict(q.done)
        left = [r for r in q.recipients if r not in done]
        already = f" (accepted already for {', '.join(done)})" if done else ""
        print(f"{q.envelope_id}  to {', '.join(left)}{already}  {counted(q.attempts, 'try', 'tries')} "
              f"(last {when})  {status}", file=out)


def _set_password(home: Home, account: str, server: str | None) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    import getpass

    from pli.core.transport.secrets import store_account_password

    which = f"the {server.upper()} password" if server else "the password"
    if sys.stdin.isatty():
        secret = getpass.getpass(f"{which.capitalize()} of account {account}: ")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if not secret:
        raise UsageError("an empty password: nothing stored")
    store_account_password(home, account, secret, server)
    print(f"{which} of account {account} is sealed in the keyring", file=sys.stderr)
    return 0
