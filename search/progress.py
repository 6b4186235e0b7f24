"""Progress of long work, phase by phase: articles done, the rate and the time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

BYTES, ARTICLES, PAGES = "bytes", "articles", "pages"


@dataclass(frozen=True)
class Step:
    """How far one phase of the work has got.

    ``done`` and ``total`` measure the work in ``unit``: the bytes of the input files while
    they are read and cleaned, articles while they are indexed, stored pages while they are
    cleaned again. ``total`` is 0 when unknown.
    """

    phase: str  # "reading", "indexing", "re-cleaning"
    articles: int  # articles (pages, when ``unit`` is PAGES) done in this phase
    done: int = 0
    total: int = 0
    unit: str = ARTICLES


Progress = Callable[[Step], None]


def no_progress(step: Step) -> None:
    """Show nothing."""


def _size(count: float, unit: str) -> str:
    if unit == BYTES:
        return f"{count / 1e6:,.1f} MB"
    return f"{count:,.0f}"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def describe(step: Step, elapsed: float) -> str:
    """One line about ``step``, ``elapsed`` seconds into its phase.

    >>> describe(Step("indexing", 1500, 1500, 6000), 3.0)
    'indexing: 1,500 articles (25%), 500 articles/s, 0:09 left'
    """
    items = PAGES if step.unit == PAGES else ARTICLES
    line = f"{step.phase}: {step.articles:,} {items}"
    if step.total and step.unit == BYTES:
        line += f" ({_size(step.done, BYTES)} of {_size(step.total, BYTES)})"
    elif step.total:
        line += f" ({step.done / step.total:.0%})"
    if elapsed > 0:
        line += f", {step.articles / elapsed:,.0f} {items}/s"
        if step.total and step.done:
            left = (step.total - step.done) * elapsed / step.done
            line += f", {_duration(max(0.0, left))} left"
    return line


class ProgressLine:
    """Shows steps on ``stream`` (None: nowhere): one line rewritten in place on a terminal
    (at a phase's start and end, and at most every ``redraw`` seconds between), and elsewhere
    a line every ``interval`` seconds.

    The rate and the time left are measured from each phase's first step.
    """

    def __init__(
        self,
        stream: TextIO | None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        redraw: float = 0.2,
        interval: float = 30.0,
    ) -> None:
        self.stream = stream
        self.tty = bool(stream and stream.isatty()) if tty is None else tty
        self.clock = clock
        self.every = redraw if self.tty else interval
        self.phase = ""
        self.started = self.shown = 0.0
        self.drawn = False  # a line is on the terminal, waiting for its end

    def __call__(self, step: Step) -> None:
        if self.stream is None:
            return
        now = self.clock()
        starts = step.phase != self.phase
        if starts:
            self.finish()
            self.phase, self.started, self.shown = step.phase, now, now
        finished = bool(step.total) and step.done >= step.total
        self.show(describe(step, now - self.started), (starts or finished) and self.tty, now)

    def show(self, line: str, force: bool = False, now: float | None = None) -> None:
        """Show ``line`` if the last was shown long enough ago (or ``force``)."""
        if self.stream is None:
            return
        now = self.clock() if now is None else now
        if now - self.shown < self.every and not force:
            return
        self.shown = now
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the line on the terminal, so that what follows starts on a line of its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
