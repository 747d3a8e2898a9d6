"""`pli open`: verify and open a sealed mail: the inner mail on stdout, the verified sender on stderr."""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.cli.common import add_output, read_input, write_report
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("open", help="open a sealed mail: the inner mail on stdout, the verified sender on stderr")
    p.add_argument("file", nargs="?", type=Path, help="the sealed mail (default: stdin)")
    add_output(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from datetime import datetime, timezone

    from pli.core.crypto.envelope import decrypt, verify_envelope
    from pli.core.crypto.mime import extract_envelope
    from pli.core.directory.resolve import unlock
    from pli.core.crypto.seen import SeenRanges

    raw = read_input(args.file)
    home = Home.resolve(args.home)
    keyring = unlock(home)
    verified = verify_envelope(extract_envelope(raw), keyring)
    seen = SeenRanges(home)
    seen.check(verified)          # replay before MAC, the order docs/FORMAT.md gives
    opened = decrypt(verified)
    seen.check_and_record(opened)
    when = datetime.fromtimestamp(opened.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"verified: from {opened.sender_name} <{opened.sender_address}> (id {opened.sender_id}, "
          f"key {opened.fingerprint}), {opened.mode} mode, sealed {when}", file=sys.stderr)
    if opened.warning:
        print(f"WARNING: {opened.warning}", file=sys.stderr)
    write_report(args, opened.inner)
    return 0
