"""A progress bar on stderr, shown only when stderr is a terminal (never in logs or pipes)."""

from __future__ import annotations

import sys
import time

#: Redraw at most this often (seconds): fast enough to look live, cheap on 1M-record ingests.
REDRAW_INTERVAL_S = 0.2
BAR_WIDTH = 30


class Progress:
    """Counts work done towards an optional total and draws ``label [####  ] n/total rate``."""

    def __init__(self, label: str, total: int | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self.total = total
        self.done = 0
        self._start = time.monotonic()
        self._drawn = 0.0

    def __call__(self, amount: int) -> None:
        self.done += amount
        now = time.monotonic()
        if self.enabled and now - self._drawn >= REDRAW_INTERVAL_S:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * BAR_WIDTH)
            eta = (self.total - self.done) / rate if rate else 0
            text = (f"\r{self.label} [{'#' * filled}{' ' * (BAR_WIDTH - filled)}] "
                    f"{self.done:,}/{self.total:,} {rate:,.0f}/s eta {eta:,.0f}s ")
        else:
            text = f"\r{self.label} {self.done:,} {rate:,.0f}/s "
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def count_lines(path) -> int:
    """Number of newline-terminated lines of a file, read in 1 MiB chunks."""
    lines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines
