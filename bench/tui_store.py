"""A large store for the TUI benchmark, filled straight into notmuch (no sealing, no import pipeline).

    .venv/bin/python bench/tui_store.py DIR --count 100000

The TUI benchmark measures reading: how a client opens an index and shows a
window of it.  Sealing and importing 1,000,000 messages through `pli import`
would take hours on a 2-core machine and measures something else (see
bench/store_import.py), so this builder writes what the importer would have
written (the clear lab messages from pli.core.lab.generator, the same tags and
pli.* properties) and indexes it with notmuch2 in large transactions.  pli and
alot then read the very same Maildir + index.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import notmuch2

from pli.core.home import Home
from pli.core.lab.generator import Generator
from pli.core.store import database
from pli.core.store.create import create_store
from pli.core.store.layout import Layout
from pli.core.store.summary import LAB, MODE, PATIENT

BATCH = 5000


def clear_message(message) -> tuple[bytes, set[str], dict[str, str]]:
    reports = message.reports
    severity = min((r.severity for r in reports), key=["critical", "abnormal", "normal"].index)
    tags = {"inbox", "unread", "lab", "verified", "sealed", "attachment"}
    tags |= {severity} - {"normal"}
    tags |= {f"patient:{r.patient.key}" for r in reports}
    patient = reports[0].patient.display if len(reports) == 1 else f"{len(reports)} patients"
    props = {PATIENT: patient, LAB: "; ".join(r.summary() for r in reports), MODE: "stream"}
    head = f"X-Pli-Verified: yes\nX-Pli-Patient: {patient}\n".encode("utf-8", "replace")
    return head + message.inner_bytes, tags, props


def build(root: Path, count: int, seed: int) -> None:
    home = Home(root)
    create_store(home, "Dr Claire Martin", "claire.martin@cabinet-demo.example")
    layout = Layout(home)
    cur = layout.folder("inbox") / "cur"
    generator = Generator(seed, patients=max(200, count // 20))
    started = time.monotonic()
    messages = generator.messages(count)
    done = 0
    while done < count:
        with database.open_write(layout) as db, db.atomic():
            for message in messages:
                raw, tags, props = clear_message(message)
                path = cur / f"bench-{message.index:08d}:2,"
                path.write_bytes(raw)
                msg, _ = db.add(str(path), sync_flags=False)
                with msg.frozen():
                    msg.tags.clear()
                    for tag in tags:
                        msg.tags.add(tag)
                for key, value in props.items():
                    msg.properties[key] = value
                done += 1
                if done % BATCH == 0:
                    break
        rate = done / (time.monotonic() - started)
        print(f"\r{done:,}/{count:,} messages ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.directory.exists():
        print(f"{args.directory} exists: choose a new folder", file=sys.stderr)
        return 1
    build(args.directory, args.count, args.seed)
    with notmuch2.Database(str(Layout(Home(args.directory)).mail), config=str(args.directory / "notmuch-config")) as db:
        print(f"{db.count_messages('*'):,} messages indexed in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
