"""Progress on standard error for the command line: one line per stage, redrawn in place,
and one summary line when the command ends.

Progress is drawn only when standard error is a terminal (never into logs or pipes) and
not silenced with ``-q``. A stage whose total is known gets a bar; the total of a pass
over the corpus is learned from the counting pass that precedes it (both count learnable
characters). The summary line (what was written, how much, how long it took) is written
to standard error whether or not it is a terminal, unless ``-q``.
"""

from __future__ import annotations

import time
from typing import TextIO

_BAR = 24
_REDRAW_SECONDS = 0.1


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration(seconds: float) -> str:
    """A duration for people: ``0.4 s``, ``42.0 s``, ``3:05``, ``1:02:03``."""
    return f"{seconds:.1f} s" if seconds < 60 else _clock(seconds)


def _millions(n: float) -> str:
    return f"{n / 1e6:,.1f} M"


class Progress:
    """A progress display, called as ``progress(stage, done)`` (characters, or bytes).

    Args:
        enabled: False silences it (``-q``).
        stream: where to draw (standard error); nothing is drawn unless it is a terminal.
        unit: what ``done`` counts, as shown ("chars", "bytes").
    """

    def __init__(self, enabled: bool, stream: TextIO, unit: str = "chars") -> None:
        self.enabled = enabled and stream.isatty()
        self.quiet = not enabled
        self.stream = stream
        self._started = time.monotonic()
        self._summary: str | None = None
        self.unit = unit
        #: Known totals by stage; a finished "count" stage sets the total of later passes.
        self.totals: dict[str, int] = {}
        self._stage: str | None = None
        self._start = 0.0
        self._drawn = 0.0
        self._done = 0

    def __call__(self, stage: str, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if stage != self._stage or done < self._done:  # a new stage, or a new pass
            self._finish()
            self._stage, self._start, self._drawn = stage, now, 0.0
        self._done = done
        if now - self._drawn >= _REDRAW_SECONDS:
            self._draw(now)

    def set_total(self, total: int, stage: str | None = None) -> None:
        """Declare the total of ``stage`` (of every later pass over the corpus if None)."""
        self.totals[stage or "*"] = total

    def _line(self, now: float) -> str:
        assert self._stage is not None
        elapsed = now - self._start
        total = self.totals.get(self._stage, self.totals.get("*"))
        rate = f"{_millions(self._done / elapsed)}/s" if elapsed > 0.5 else ""
        if total:
            share = min(self._done / total, 1.0)
            fill = round(share * _BAR)
            bar = "█" * fill + "░" * (_BAR - fill)
            amount = f"{_millions(self._done)}/{_millions(total)} {self.unit}"
            return f"{self._stage:<10}[{bar}] {share:4.0%}  {amount}  {rate}  {_clock(elapsed)}"
        amount = f"{_millions(self._done)} {self.unit}"
        return f"{self._stage:<10}{amount}  {rate}  {_clock(elapsed)}"

    def _draw(self, now: float) -> None:
        self.stream.write("\r\033[K" + self._line(now))
        self.stream.flush()
        self._drawn = now

    def _finish(self) -> None:
        if self._stage is None:
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()
        if self._stage == "count":
            self.totals.setdefault("*", self._done)
        self._stage = None
        self._done = 0

    def done(self) -> None:
        """End the current line (the last state stays on screen)."""
        if self.enabled:
            self._finish()

    def summary(self, text: str) -> None:
        """Say what the command did (``"12 words written to x.tsv"``), for :meth:`end`."""
        self._summary = text

    def end(self, command: str) -> None:
        """End the command: finish the progress line, then write the summary line
        ``ciyu: COMMAND: SUMMARY in 1.2 s`` (``ciyu: COMMAND: done in ...`` without a
        summary) unless quiet."""
        self.done()
        if self.quiet:
            return
        elapsed = duration(time.monotonic() - self._started)
        self.stream.write(f"ciyu: {command}: {self._summary or 'done'} in {elapsed}\n")
        self.stream.flush()
