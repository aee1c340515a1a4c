"""The integration tests' waiting helpers: a worker counts as ready when it says so itself
(a file written on Celery's worker_ready signal, not a log line), and long waits fail on a
stall, not on a busy machine's slowness, without giving up what they wait for."""

import subprocess
import sys
import time

import pytest

from .support import Worker, wait_for


def test_wait_for_keeps_waiting_while_progress_is_made():
    start = time.monotonic()
    done = lambda: time.monotonic() - start > 1.5  # noqa: E731
    progress = lambda: int((time.monotonic() - start) * 10)  # noqa: E731
    assert wait_for(done, timeout=30, stall=0.5, progress=progress, what="slow but steady")


def test_wait_for_fails_on_a_stall():
    with pytest.raises(AssertionError, match="no progress for 0.3 s"):
        wait_for(lambda: False, timeout=30, stall=0.3, progress=lambda: 1, what="nothing")


def test_wait_for_still_has_an_overall_bound():
    start = time.monotonic()
    with pytest.raises(AssertionError, match="timed out after 1 s"):
        wait_for(
            lambda: False,
            timeout=1,
            stall=30,
            progress=lambda: time.monotonic() - start,
            what="forever",
        )


def test_a_worker_is_ready_when_it_writes_its_ready_file(tmp_path):
    ready = tmp_path / "ready"
    log = tmp_path / "w.log"
    log.write_text("")  # never says " ready." in its log
    script = (
        "import pathlib, sys, time; time.sleep(0.5); "
        "pathlib.Path(sys.argv[1]).write_text('1'); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(ready)])
    try:
        Worker("fake", proc, log, ready).wait_ready(timeout=20)
        assert ready.exists()
    finally:
        proc.kill()
        proc.wait(10)
