"""Progress of a long run over messages (import, export): a bar with count, rate and ETA on a
terminal, plain lines otherwise."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

BAR = 28
LINE_EVERY_SECONDS = 5.0  # not a terminal: a line every few seconds (logs stay short)


@dataclass
class Progress:
    stream: TextIO | None
    tty: bool = False
    verb: str = "imported"     # what the plain lines say was done ("imported 1,200/5,000 ...")
    total: int = 0
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    _last: float = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO = sys.stderr, quiet: bool = False, verb: str = "imported") -> "Progress":
        if quiet:
            return cls(None, verb=verb)
        return cls(stream, tty=stream.isatty(), verb=verb)

    def start(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.stream is None or (now - self._last < (0.1 if self.tty else LINE_EVERY_SECONDS)
                                   and self.done < self.total):
            return
        self._last = now
        self._show(now)

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def _show(self, now: float) -> None:
        rate = self.rate(now)
        left = (self.total - self.done) / rate if rate > 0 else 0
        eta = f"{int(left // 60)}:{int(left % 60):02d}"
        if self.tty:
            filled = BAR * self.done // max(self.total, 1)
            print(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {self.done:,}/{self.total:,} "
                  f"{rate:,.0f} msg/s ETA {eta} ", end="", file=self.stream, flush=True)
        else:
            print(f"{self.verb} {self.done:,}/{self.total:,} ({rate:,.0f} msg/s, ETA {eta})",
                  file=self.stream, flush=True)

    def finish(self) -> None:
        if self.stream is not None and self.tty:
            print(file=self.stream, flush=True)
