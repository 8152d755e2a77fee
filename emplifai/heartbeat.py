"""Progress lines for long runs whose output is not a terminal (CI logs, ``nohup``, pipes).

Inspect's displays redraw a terminal; outside one its plain display prints a line only when a
step completes, so one slow sample (a local model loading, a long judge prompt) leaves the log
silent for minutes. ``heartbeat`` prints one line at least every ``EVERY_S`` seconds while its
block runs, naming the stage and the time spent, and nothing at all when the stream is a terminal
(Inspect's own display shows progress there). ``EMPLIFAI_HEARTBEAT_S`` changes the interval.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

EVERY_S = float(os.environ.get("EMPLIFAI_HEARTBEAT_S", "30"))


class Heartbeat:
    """The running stage's name; ``stage(...)`` renames it (and restarts its clock)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.lines = 0

    def stage(self, label: str) -> None:
        self.label, self.started = label, time.monotonic()

    def line(self) -> str:
        spent = int(time.monotonic() - self.started)
        return f"[emplifai] {self.label}: still running ({spent // 60} min {spent % 60:02d} s)"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def heartbeat(label: str, every_s: float | None = None, stream: TextIO | None = None,
              force: bool | None = None) -> Iterator[Heartbeat]:
    """While the block runs, print a progress line every ``every_s`` seconds (default ``EVERY_S``)
    to ``stream`` (default stderr), unless it is a terminal (``force`` overrides that check)."""
    out = stream if stream is not None else sys.stderr
    beat = Heartbeat(label)
    if not (force if force is not None else not _is_terminal(out)):
        yield beat
        return
    interval = every_s if every_s is not None else EVERY_S
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            try:
                print(beat.line(), file=out, flush=True)
                beat.lines += 1
            except (OSError, ValueError):  # the stream went away (closed pipe): stop quietly
                return

    thread = threading.Thread(target=run, name="emplifai-heartbeat", daemon=True)
    thread.start()
    try:
        yield beat
    finally:
        stop.set()
        thread.join(timeout=5)
