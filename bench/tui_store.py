"""A large store for the TUI benchmark, filled straight into notmuch (no sealing, no import pipeline).

    .venv/bin/python bench/tui_store.py DIR --count 100000
    nice -n 19 .venv/bin/python bench/tui_store.py /var/tmp/pli-1m --count 1000000   # ~40-60 min on 2 cores

The TUI benchmark measures reading: how a client opens an index and shows a
window of it.  Sealing and importing 1,000,000 messages through `pli import`
takes hours on a 2-core machine and measures something else (see
bench/store_import.py), so this builder skips only the crypto: for each
generated lab message (pli.core.lab.generator) it writes the clear message the
importer's worker would write (`worker.clear_message`, with the X-Pli-* facts
of a verified stream-mode envelope from the message's lab), under the same
file name scheme (the key), with the same tags and pli.* properties
(`tagging.lab_facts`, `tags_for`, `properties_for`), and indexes it with
notmuch2 in large transactions, as the importer's writer does.  No sealed
originals and no trace are written (the TUI never reads them to draw a list).
pli and alot then read the very same Maildir + index.

Generation and file writing run in worker processes (one chunk of messages
each, dated in order); the parent is the one index writer.  All chunks share
one patient population (the same seed), so patient views and trends hold
months of results as in a real inbox.
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import sys
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import notmuch2

from pli.core.home import Home
from pli.core.lab.generator import Generator
from pli.core.store import database
from pli.core.store.create import create_store
from pli.core.store.layout import Layout
from pli.core.store.tagging import lab_facts, properties_for, tags_for
from pli.core.store.worker import INFO, clear_message, digest

CHUNK = 2000          # messages per worker task
COMMIT = 10_000       # messages per index transaction
USER = ("Dr Claire Martin", "claire.martin@cabinet-demo.example")


@dataclass(frozen=True)
class Opened:
    """What the envelope's open_mail would report for a verified stream-mode lab mail."""

    inner: bytes
    sender_name: str
    sender_address: str
    sender_id: str
    fingerprint: str
    envelope_id: str
    timestamp: int
    recipients: tuple[str, ...] = (USER[1],)
    mode: str = "stream"


_BASE: Generator | None = None     # built in the parent before the fork: the patients are shared
_CUR: str = ""


def _opened(message) -> Opened:
    lab = message.lab
    fingerprint = hashlib.sha256(f"bench {lab.code}".encode()).hexdigest()[:40]
    envelope_id = hashlib.sha256(message.message_id.encode()).hexdigest()[:32]
    return Opened(message.inner_bytes, lab.name, lab.address, lab.code, fingerprint, envelope_id,
                  int(message.date.timestamp()))


def prepare_chunk(number: int) -> list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]]:
    """Generate chunk `number` (its own slice of the year, in date order), write its clear files."""
    if _POOL:
        return _pooled_chunk(number)
    base = _BASE
    assert base is not None
    base.rng = random.Random(base.seed * 1_000_003 + number)
    base.count = number * CHUNK
    span = _SPAN / -(-_TOTAL // CHUNK)
    base.end = _START + span * (number + 1)
    base.span = span
    rows = []
    for message in base.messages(min(CHUNK, _TOTAL - number * CHUNK)):
        rows.append(_write_clear(_opened(message), lab_facts(message.reports)))
    return rows


def _write_clear(opened, lab) -> tuple:
    """The clear file the importer's worker writes, under its name; the row (path, tags, properties) to index."""
    key = digest(b"env", opened.envelope_id.encode(), opened.fingerprint.encode())
    path = f"{_CUR}/{key}{INFO}"
    with open(path, "wb") as out:
        out.write(clear_message(opened, key, lab))
    return (path, tags_for(sealed=True, reason="", quarantined=False, lab=lab),
            properties_for(mode=opened.mode, reason="", lab=lab))


_TOTAL = 0
_START = None      # the year the whole store covers, from the base generator
_SPAN = None
_POOL: list = []   # --pool: (message, lab facts) generated once, sent again under new ids and dates


def _pooled_chunk(number: int) -> list:
    """Chunk `number` from the pool: each message a pooled one under its own Message-ID and date
    (dated like the generator's, in order over the chunk's slice of the year)."""
    from email.utils import formatdate

    from pli.core.store import headers

    rng = random.Random(_BASE.seed * 1_000_003 + number)
    size = min(CHUNK, _TOTAL - number * CHUNK)
    span = _SPAN / -(-_TOTAL // CHUNK)
    start = _START + span * number
    rows = []
    for i in range(size):
        index = number * CHUNK + i
        message, lab = _POOL[rng.randrange(len(_POOL))]
        when = start + span / size * i + timedelta(minutes=rng.randrange(0, 600))
        message_id = f"<lab-{_BASE.seed}-{index}@pli-generator.example>"
        inner = headers.rewrite(message.inner_bytes, [("Message-ID", message_id),
                                                      ("Date", formatdate(when.timestamp()))],
                                frozenset({"Message-ID", "Date"}))
        opened = replace(_opened(message), inner=inner, timestamp=int(when.timestamp()),
                         envelope_id=hashlib.sha256(message_id.encode()).hexdigest()[:32])
        rows.append(_write_clear(opened, lab))
    return rows


def _fill_pool(size: int, seed: int, patients: int) -> None:
    generator = Generator(seed, patients=patients)   # the same patients as the rest of the store
    generator.rng = random.Random(seed * 7 + 1)
    for message in generator.messages(size):
        _POOL.append((message, lab_facts(message.reports)))


def build(root: Path, count: int, seed: int, workers: int, pool: int = 0) -> None:
    global _BASE, _CUR, _TOTAL, _START, _SPAN
    home = Home(root)
    create_store(home, *USER)
    layout = Layout(home)
    _CUR = str(layout.folder("inbox") / "cur")
    _BASE = Generator(seed, patients=max(200, count // 20))
    _TOTAL, _START, _SPAN = count, _BASE.end - _BASE.span, _BASE.span
    if pool:
        _fill_pool(pool, seed, max(200, count // 20))
    done = _indexed(layout)   # a rerun continues where the last committed transaction ended
    chunks = range(done // CHUNK, -(-count // CHUNK))
    started = time.monotonic()
    first = done
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.imap(prepare_chunk, chunks)
        pending: list = []
        for rows in results:
            pending += rows
            if len(pending) >= COMMIT or done + len(pending) >= count:
                _index(layout, pending)
                done += len(pending)
                pending = []
                rate = (done - first) / (time.monotonic() - started)
                print(f"\r{done:,}/{count:,} messages ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def _indexed(layout: Layout) -> int:
    with notmuch2.Database(str(layout.mail), config=str(layout.notmuch_config)) as db:
        return db.count_messages("*")


def _index(layout: Layout, rows) -> None:
    with database.open_write(layout) as db, db.atomic():
        for path, tags, properties in rows:
            msg, _ = db.add(path, sync_flags=False)
            with msg.frozen():   # tags and properties written to Xapian once, at the thaw
                for tag in tags:
                    msg.tags.add(tag)
                for key, value in properties:
                    msg.properties.add(key, value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="generating processes (the parent indexes)")
    parser.add_argument("--pool", type=int, default=0,
                        help="generate only this many messages and send each again under new ids and "
                             "dates (cheaper: for 1,000,000 on a busy machine)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted build in DIRECTORY")
    args = parser.parse_args()
    if args.directory.exists() and not args.resume:
        print(f"{args.directory} exists: choose a new folder (or --resume)", file=sys.stderr)
        return 1
    build(args.directory, args.count, args.seed, args.workers, args.pool)
    with notmuch2.Database(str(Layout(Home(args.directory)).mail),
                           config=str(args.directory / "notmuch-config")) as db:
        print(f"{db.count_messages('*'):,} messages indexed in {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
