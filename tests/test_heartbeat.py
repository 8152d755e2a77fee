"""Progress lines outside a terminal: `heartbeat` prints one line per interval while its block
runs (naming the stage and the time spent), none into a terminal, and stops with the block."""

from __future__ import annotations

import io
import time

from emplifai.heartbeat import heartbeat


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_every_interval_outside_a_terminal() -> None:
    out = io.StringIO()
    with heartbeat("synth stage generate", every_s=0.05, stream=out) as beat:
        time.sleep(0.32)
        beat.stage("synth stage label")
        time.sleep(0.17)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 5 and beat.lines == len(lines)
    assert lines[0].startswith("[emplifai] synth stage generate: still running (0 min 00 s)")
    assert lines[-1].startswith("[emplifai] synth stage label: still running")
    time.sleep(0.15)
    assert out.getvalue().splitlines() == lines  # nothing after the block


def test_silent_in_a_terminal() -> None:
    out = _Terminal()
    with heartbeat("demo", every_s=0.02, stream=out):
        time.sleep(0.12)
    assert out.getvalue() == ""


def test_a_closed_stream_ends_the_thread_quietly() -> None:
    out = io.StringIO()
    with heartbeat("gguf/x: serving", every_s=0.02, stream=out) as beat:
        out.close()
        time.sleep(0.1)
    assert beat.lines == 0
