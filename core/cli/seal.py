"""`pli seal`: seal and sign a message for recipients; the sealed mail (MIME) on stdout."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import add_output, addresses, read_input, write_report
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("seal", help="seal and sign a message (a MIME mail) for recipients; the sealed mail on stdout")
    p.add_argument("--to", required=True, help="ADDR[,ADDR...]")
    p.add_argument("--mode", choices=["otp", "stream"],
                   help="otp needs a pad shared with every recipient; default: otp where possible, else stream")
    p.add_argument("--receipt", metavar="KINDS",
                   help="ask the recipients for signed receipts: delivery, read, delivery,read or none "
                        "(default: the [receipts] ask setting)")
    p.add_argument("file", nargs="?", type=Path, help="the message to seal (default: stdin)")
    add_output(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.envelope import seal_mail
    from pli.core.directory.resolve import unlock

    from pli.core import receipts

    home = Home.resolve(args.home)
    message = receipts.ask(read_input(args.file), receipts.kinds_to_ask(home, args.receipt))
    keyring = unlock(home)
    to = addresses(args.to)
    write_report(args, seal_mail(message, keyring, to, mode=args.mode))
    return 0
