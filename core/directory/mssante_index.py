"""The MSSanté mailbox extract kept on disk as an indexed SQLite file: lookup by address, completion, who can get what.

    summary = import_extract("Extraction_Correspondance_MSSante_2026.txt", index, progress=print_rows)
    directory = MssDirectory(index)                   # opens read-only; nothing is loaded into memory
    directory.lookup("dr.martin@op.mssante.fr")       # MssMailbox or None
    directory.complete("mart")                        # mailboxes whose address, family or given name starts so
    reach("dr.martin@op.mssante.fr", sealed=False, mailbox=directory.lookup(...))
        # -> Reach("mssante", "MSSanté (transport-secured)") for the seal plan

Half a million mailboxes would be hundreds of MB as Python objects and
seconds to load; SQLite answers a lookup or a prefix search from its B-tree
indexes in well under a millisecond without reading the rest (bench/
test_bench_mssante_directory.py).  The import streams the extract
(core/directory/mssante.py) into a new file beside the old one, builds the
indexes, and renames it over the old one only when complete: a failed or
interrupted import leaves the previous directory as it was.
"""
from __future__ import annotations

import os
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from pli.core.directory.mssante import MssExtractError, MssMailbox, open_extract
from pli.core.durable import fsync_dir

BATCH = 5000
SCHEMA_VERSION = 1
_FIELDS = tuple(f.name for f in fields(MssMailbox))
SEALED = "pli"
MSSANTE = "mssante"
UNKNOWN = "unknown"


class MssDirectoryError(MssExtractError):
    """The MSSanté directory file is missing or damaged."""

    exit_code = 3                # the home's own file: configuration, fixed by importing the extract again


@dataclass(frozen=True)
class ImportSummary:
    mailboxes: int               # distinct addresses stored
    rows: int                    # lines read
    skipped: int                 # lines without a usable address
    duplicates: int              # lines naming an address already stored (the first is kept)


@dataclass(frozen=True)
class Reach:
    """How mail to an address can travel, as the seal plan says it."""

    tier: str                    # SEALED, MSSANTE or UNKNOWN
    label: str
    why: str = ""                # what made it so, in words


def reach(address: str, *, sealed: bool, mailbox: MssMailbox | None) -> Reach:
    """pli-sealed when pli knows the recipient's keys (directory or keyring), else MSSanté when the extract lists
    the address, else unknown (no way to send it securely)."""
    if sealed:
        return Reach(SEALED, "pli-sealed (end-to-end signed and encrypted)",
                     "its keys are in your keyring or the pli directory")
    if mailbox is not None and mailbox.address == address.strip().lower():
        return Reach(MSSANTE, "MSSanté (transport-secured)",
                     "not in the pli directory, listed in the MSSanté extract")
    return Reach(UNKNOWN, "not in the pli or MSSanté directory")


def import_extract(source: str | os.PathLike, index: str | os.PathLike,
                   progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Read the extract at `source` into the SQLite file `index`, replacing it atomically when complete."""
    extract = open_extract(source)
    index = Path(index)
    index.parent.mkdir(parents=True, exist_ok=True)
    staged = index.with_name(f".{index.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    try:
        stored = _write(extract, staged, progress)
        os.replace(staged, index)
        fsync_dir(index.parent)
    finally:
        staged.unlink(missing_ok=True)
    return ImportSummary(stored, extract.rows, extract.skipped, extract.rows - extract.skipped - stored)


def _write(extract, path: Path, progress) -> int:
    db = sqlite3.connect(path)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         f"PRAGMA user_version={SCHEMA_VERSION};"
                         f"CREATE TABLE mailbox (address TEXT PRIMARY KEY, {', '.join(_FIELDS[1:])}, "
                         "family_key TEXT, given_key TEXT) WITHOUT ROWID;")
        insert = (f"INSERT OR IGNORE INTO mailbox VALUES ({', '.join('?' * (len(_FIELDS) + 2))})")
        batch = []
        for mailbox in extract:
            batch.append(tuple(getattr(mailbox, f) for f in _FIELDS) + (_key(mailbox.family), _key(mailbox.given)))
            if len(batch) >= BATCH:
                db.executemany(insert, batch)
                batch.clear()
                if progress is not None:
                    progress(extract.rows)
        db.executemany(insert, batch)
        db.execute("CREATE INDEX by_family ON mailbox (family_key)")
        db.execute("CREATE INDEX by_given ON mailbox (given_key)")
        db.commit()
        if progress is not None:
            progress(extract.rows)
        stored = db.execute("SELECT count(*) FROM mailbox").fetchone()[0]
    finally:
        db.close()
    with open(path, "rb") as written:
        os.fsync(written.fileno())
    return stored


class MssDirectory:
    """An imported extract, opened read-only."""

    def __init__(self, index: str | os.PathLike) -> None:
        self.path = Path(index)
        if not self.path.is_file():
            raise MssDirectoryError(f"no MSSanté directory at {self.path}: import the extract first")
        try:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       check_same_thread=False)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            self._db.execute("SELECT address FROM mailbox LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            raise MssDirectoryError(f"the MSSanté directory {self.path} is damaged: import the extract again") \
                from None
        if version != SCHEMA_VERSION:
            raise MssDirectoryError(f"the MSSanté directory {self.path} was written by another version of pli: "
                                    "import the extract again")

    def close(self) -> None:
        self._db.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM mailbox").fetchone()[0]

    def lookup(self, address: str) -> MssMailbox | None:
        row = self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM mailbox WHERE address = ?",
                               (address.strip().lower(),)).fetchone()
        return MssMailbox(*row) if row else None

    def complete(self, prefix: str, limit: int = 10) -> list[MssMailbox]:
        """Mailboxes whose address, or family or given name (accents and case aside), starts with `prefix`."""
        text = prefix.strip().lower()
        key = _key(prefix)
        if not text:
            return []
        found: dict[str, MssMailbox] = {}
        queries = [("address", text)] + ([("family_key", key), ("given_key", key)] if key else [])
        for column, start in queries:
            rows = self._db.execute(f"SELECT {', '.join(_FIELDS)} FROM mailbox WHERE {column} >= ? AND {column} < ? "
                                    f"ORDER BY {column} LIMIT ?", (start, start + "\U0010ffff", limit))
            for row in rows:
                found.setdefault(row[0], MssMailbox(*row))
            if len(found) >= limit:
                break
        return list(found.values())[:limit]


def _key(name: str) -> str:
    """'Émilie' -> 'emilie': what completion compares."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(ascii_name.lower().split())
