"""The saved searches' counts from the last run, drawn in pli's first frame while the index is unchanged.

Counting the sidebar's searches costs a pass over each one's matches (a third of
a second for the inbox at 1,000,000 messages): the first screen is complete
only once they are in.  So the counts are saved in the home with the index's
revision (notmuch's lastmod, which any tag change or new message raises) and
shown at start only when the index is still at that revision: the figure shown
is then the index's own, never a stale one; after any change they are counted
again, as before.  Queries are stored by their SHA-256 (a saved search may name
a patient: this file need not).  A missing or unreadable file is only a cache
miss: the counts are counted and the file written again.

No Textual here: the launcher's prefetch thread reads it before Textual is up.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

FILE = "tui-counts.json"


def _key(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


@dataclass(frozen=True)
class SavedCounts:
    """Counts of expanded queries at one index revision."""

    revision: tuple[int, str]
    counts: dict[str, int] = field(default_factory=dict)   # sha256 of the query -> count

    def get(self, query: str) -> int | None:
        return self.counts.get(_key(query))

    @classmethod
    def of(cls, revision: tuple[int, str], counts: dict[str, int]) -> "SavedCounts":
        """From counts by (expanded) query."""
        return cls(tuple(revision), {_key(query): count for query, count in counts.items()})


def load(home, revision: tuple[int, str]) -> SavedCounts | None:
    """The saved counts if they were counted at `revision`; else None (count them)."""
    try:
        data = json.loads((home.root / FILE).read_text(encoding="utf-8"))
        saved = SavedCounts(tuple(data["revision"]), dict(data["counts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    valid = all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in saved.counts.items())
    return saved if valid and saved.revision == tuple(revision) else None


def save(home, saved: SavedCounts) -> None:
    """Written atomically (0600): a reader sees the old file or the new one, never half of one."""
    # start-up: imported when counts are saved, after the first screen
    from pli.core.durable import write_atomic

    rev, uuid = saved.revision
    write_atomic(home.root / FILE, json.dumps({"revision": [rev, uuid], "counts": saved.counts}).encode())
