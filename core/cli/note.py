"""`pli note`: send a short sealed note to one correspondent, or show the notes exchanged with one."""
from __future__ import annotations

import sys
from datetime import datetime

from pli.core.cli.common import add_actions, add_output, flushed, report_to
from pli.core.home import Home

DEFAULT_SHOWN = 20


def register(sub) -> None:
    p = sub.add_parser("note", help="short sealed notes with a correspondent (the TUI's conversation view): "
                                    "send one, show the latest")
    cmds = add_actions(p, "note")
    s = cmds.add_parser("send", help="seal, sign and send a short note")
    s.add_argument("address", help="the correspondent's address")
    s.add_argument("text", nargs="*", help="the note (words are joined; `-` or nothing: read stdin)")
    s.add_argument("--account", help="the [accounts.NAME] to send through (default: the send_to rules, "
                                     "else the default account)")
    s.add_argument("--queue-only", action="store_true", help="seal and queue, do not submit now")
    add_output(s)
    s.set_defaults(func=lambda args: _send(Home.resolve(args.home), args))
    show = cmds.add_parser("show", help="the latest notes with a correspondent, oldest first")
    show.add_argument("address", help="the correspondent's address")
    show.add_argument("--limit", type=int, default=DEFAULT_SHOWN, help=f"how many (default {DEFAULT_SHOWN})")
    add_output(show)
    show.set_defaults(func=lambda args: _show(Home.resolve(args.home), args.address, args.limit, args))


def _text(words: list[str]) -> str:
    if not words or words == ["-"]:
        return sys.stdin.read()
    return " ".join(words)


def _send(home: Home, args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.mail.conversation import check_address, check_text
    from pli.core.mail.send import send_note
    from pli.core.transport import outbox
    from pli.core.transport.accounts import route

    address = check_address(args.address)
    text = check_text(_text(args.text))           # refused before the passphrase is asked
    if not args.queue_only:
        route(home, [address], args.account)      # an account takes it (send_to rules, else the default)
    keyring = unlock(home)
    queued = send_note(home, keyring, address, text, datetime.now().astimezone())
    print(f"queued note {queued.envelope_id} for {address}", file=sys.stderr)
    if args.queue_only:
        return 0
    with report_to(args) as out:
        return flushed(outbox.flush_account(home, keyring, args.account, {queued.key}), out)


def _show(home: Home, address: str, limit: int, args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.conversation import check_address, conversation_query, note_of
    from pli.core.plural import counted
    from pli.core.store import Store

    address = check_address(address)
    with Store.open(home) as store:
        rows = store.window(conversation_query(address), 0, max(0, limit))
        shown = [n for n in (note_of(s, store.read_clear(s.message_id), home) for s in reversed(rows))
                 if n.belongs_to(address)]
    with report_to(args) as out:
        for note in shown:
            print(_line(note, address), file=out)
    print(f"{counted(len(shown), 'note')} with {address}", file=sys.stderr)
    return 0


def _line(note, address: str) -> str:
    when = datetime.fromtimestamp(note.date).astimezone().strftime("%Y-%m-%d %H:%M")
    if not note.verified:
        return f"{when}  ✗ NOT VERIFIED ({note.reason or 'failed its checks'}): a message claiming to come " \
               f"from {address}; not shown"
    who = f"me -> {address} [{note.state}]" if note.outgoing else f"{address} -> me ✓"
    return f"{when}  {who}  " + " ".join(note.text.split())
