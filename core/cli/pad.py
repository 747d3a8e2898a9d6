"""`pli pad ...`: one-time pads: draw one for you and other holders, import one, see what is left."""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.cli.common import add_actions, addresses, add_output, add_output_folder, report_to
from pli.core.errors import UsageError
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("pad", help="one-time pads: new, import, status")
    cmds = add_actions(p, "pad")
    c = cmds.add_parser("new", help="draw a pad shared with other holders; writes one file per other holder")
    c.add_argument("--with", dest="holders", required=True,
                   help="ADDR[,ADDR...]: the other holders (their public identities imported)")
    c.add_argument("--size", required=True, help="total size, e.g. 64M, 1G (split into one lane per holder)")
    add_output_folder(c, "the folder for the other holders' files (created if missing)")
    c.set_defaults(func=run_new)
    c = cmds.add_parser("import", help="import a pad file another holder made and signed for you")
    c.add_argument("file", type=Path)
    c.set_defaults(func=run_import)
    c = cmds.add_parser("status", help="per pad and lane: bytes used and left; warns when a lane runs low")
    add_output(c)
    c.set_defaults(func=run_status)


def run_new(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.pads import parse_size
    from pli.core.directory.resolve import unlock
    from pli.core.durable import write_atomic

    others = addresses(args.holders)
    if not others:
        raise UsageError("--with needs at least one other holder's address")
    size = parse_size(args.size)
    keyring = unlock(Home.resolve(args.home))
    pad = keyring.new_pad(others, size)
    print(f"pad {pad.hex}: {pad.size:,} bytes, {len(pad.holders)} lanes of {pad.lane_size:,}")
    for address in others:
        path = args.output / f"pad-{pad.hex[:12]}-for-{address}.plipad"
        write_atomic(path, keyring.export_pad(pad.id, address))
        print(f"wrote {path}: hand it to {address} out of band (USB key, in person), never by mail")
    return 0


def run_import(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.cli.common import read_input
    from pli.core.directory.resolve import unlock

    data = read_input(args.file)        # an unreadable file is said before the passphrase is asked
    pad, maker = unlock(Home.resolve(args.home)).import_pad_from(data)
    print(f"imported pad {pad.hex}: {pad.size:,} bytes, holders {', '.join(pad.holders)}; "
          f"made and signed by {maker.name} <{maker.address}> (key {maker.fingerprint})")
    return 0


def run_status(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock

    keyring = unlock(Home.resolve(args.home))
    pads = keyring.pads.list()
    if not pads:
        print("no pads: make one with `pli pad new --with ADDR --size 64M -o DIR`", file=sys.stderr)
    with report_to(args) as out:
        for pad in pads:
            _print_pad(keyring, pad, out)
    return 0


def _print_pad(keyring, pad, out) -> None:
    me = keyring.identity.public.address
    print(f"pad {pad.hex}  {pad.size:,} bytes  holders {', '.join(pad.holders)}", file=out)
    for lane, holder in enumerate(pad.holders):
        used = keyring.ledger.used(pad, lane) if holder == me else None
        if used is None:
            print(f"  lane {lane} {holder:32} (their sending lane)", file=out)
            continue
        left = pad.lane_size - used
        warning = "  LOW: make a new pad soon" if pad.running_low(left) else ""
        print(f"  lane {lane} {holder:32} used {used:,}  left {left:,}{warning}", file=out)
