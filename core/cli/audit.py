"""`pli audit show|verify|authorize`: read and check the trace of every message's steps."""
from __future__ import annotations

from pli.core.cli.common import add_actions, add_output, report_to
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.plural import counted


def register(sub) -> None:
    p = sub.add_parser("audit", help="the trace: what happened to each message, checked end to end")
    cmds = add_actions(p, "audit")
    show = cmds.add_parser("show", help="list the recorded steps of one message")
    show.add_argument("message", help="the message's envelope id or Message-ID")
    add_output(show)
    show.set_defaults(func=run_show)
    check = cmds.add_parser("verify", help="check every entry's signature, the chain and the end of the journal")
    check.add_argument("--key", action="append", default=[], metavar="KEYFILE",
                       help="also trust this Ed25519 public key file (default: only trace/signers)")
    add_output(check)
    check.set_defaults(func=run_verify)
    auth = cmds.add_parser("authorize", help="allow an Ed25519 public key to sign this home's trace")
    auth.add_argument("keyfile", help="a public key file (`ed25519 BASE64` line or PEM)")
    auth.add_argument("--note", default="", help="a short note kept next to the key (who it is)")
    auth.set_defaults(func=run_authorize)


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.audit import steps_of

    found = steps_of(Home.resolve(args.home), args.message)
    if not found:
        raise PliError(f"no trace of {args.message}")
    with report_to(args) as out:
        for entry in found:
            details = " ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
            print(f"{entry.seq:>8}  {entry.time}  {entry.step:<20} {entry.actor}  {details}".rstrip(), file=out)
    return 0


def run_verify(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.audit import load_signers, verify
    from pli.core.directory.keyfile import read_one

    home = Home.resolve(args.home)
    trusted = load_signers(home) | {read_one(path, "ed25519").b64 for path in args.key}
    report = verify(home, trusted)
    with report_to(args) as out:
        print(f"trace ok: {counted(report.entries, 'entry')} (last {report.last_seq}), "
              f"signed by {counted(len(report.signers), 'key')}", file=out)
    return 0


def run_authorize(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.audit import authorize_signer
    from pli.core.audit.signers import key_from_b64
    from pli.core.directory.keyfile import read_one

    key = read_one(args.keyfile, "ed25519")
    authorize_signer(Home.resolve(args.home), key_from_b64(key.b64), args.note)
    print(f"allowed to sign the trace: ed25519 {key.b64}")
    return 0
