"""Pausing Python's cyclic garbage collector while a step builds a great many objects that hold no cycle.

The collector runs a pass every 700 new containers: parsing the JSON of a
100,000-entry directory (two million dicts and lists) or wrapping a batch of
records in cffi objects spends a third to a half of its time in passes that
find nothing to free.  Reference counting still frees everything as usual.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector is left as it was found (a caller may have paused it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
