"""`pli demo [--size N] [--no-open] [DIR]`: build a demo home full of sealed lab results.

The core command only builds; the `pli` launcher opens the TUI on the result
unless --no-open is given (core never imports the UI).
"""
from __future__ import annotations

import sys
from pathlib import Path

from pli.core.plural import counted

DEFAULT_DIR = "demo-home"


def register(sub) -> None:
    p = sub.add_parser("demo", help="build a demo home (identities, pads, sealed lab results) and open it")
    p.add_argument("directory", nargs="?", default=DEFAULT_DIR, type=Path,
                   help=f"where to build it (default: ./{DEFAULT_DIR})")
    p.add_argument("--size", type=int, default=None, help="number of lab messages (default: 2000)")
    p.add_argument("--seed", type=int, default=None, help="generator seed (default: fixed, for reproducible demos)")
    p.add_argument("--no-open", action="store_true", help="only build the demo, do not open the TUI")
    p.set_defaults(func=run)


_finished: set[str] = set()


def _progress(done: int, total: int, stage: str) -> None:
    if stage in _finished:
        return
    if done >= total:
        _finished.add(stage)
    if sys.stderr.isatty():
        print(f"\r{stage}: {done:,}/{total:,}", end="" if done < total else "\n", file=sys.stderr, flush=True)
    elif done >= total:
        print(f"{stage}: {total:,}", file=sys.stderr)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.demo import DEFAULT_SEED, DEFAULT_SIZE, build_demo

    from datetime import datetime, timezone

    # Dated up to now, so that the newest results read "today"; tests pass a fixed now instead.
    result = build_demo(args.directory, size=args.size or DEFAULT_SIZE,
                        seed=DEFAULT_SEED if args.seed is None else args.seed, progress=_progress,
                        now=datetime.now(timezone.utc))
    reused = ", built earlier" if result.reused else ""
    print(f"demo home ready: {result.home.root} ({counted(result.messages, 'message')}{reused}; "
          f"its keyring's passphrase is in {result.passphrase_file})")
    if args.no_open:
        print(f"open it with: pli --home {result.home.root}")
    return 0
