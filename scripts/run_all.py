"""Runs the web server, a Celery worker and Celery beat together, and keeps them running.

- A child that exits on its own is restarted: after 1 s, then 2, 4, ... at most 30 s while it
  keeps failing; the delay starts again at 1 s once it has run for 60 s. The others go on: a
  crashed worker does not take the web server down.
- Ctrl-C or SIGTERM stops all three: one SIGTERM each (a second one would cut their shutdown
  short), SIGKILL to any still running after 20 s.
- The children run in a session of their own, so Ctrl-C in the terminal reaches this supervisor
  only, and it alone signals them. On Linux each child is also told by the kernel to take SIGTERM
  when this supervisor dies, even by SIGKILL: none outlives it, and the embedded PostgreSQL, which
  stops when the last process registered with it exits, stops behind them.
"""

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")

COMMANDS = {
    "web": [
        *(str(BIN / "gunicorn"), "config.wsgi", "--bind", f"{HOST}:{PORT}", "--workers", "2"),
        # The access log leaves out query strings: a search for an MRN must not land in a log.
        *("--access-logfile", "-", "--access-logformat", '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'),
    ],
    "worker": [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "1"],
    "beat": [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO"],
}

FIRST_DELAY = 1.0  # seconds before restarting a child that exited
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0  # a child that ran this long starts again from FIRST_DELAY
STOP_GRACE = 20.0  # between SIGTERM and SIGKILL when stopping
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform.startswith("linux") else None


def _die_with(parent: int):
    """In the child, before it runs its program: SIGTERM when the supervisor dies (Linux)."""

    def preexec() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec if _libc is not None else None


class Child:
    def __init__(self, name: str, command: list[str], env: dict):
        self.name, self.command, self.env = name, command, env
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.delay = FIRST_DELAY
        self.restart_at = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            self.command, cwd=ROOT, env=self.env, start_new_session=True, preexec_fn=_die_with(os.getpid())
        )
        self.started = time.monotonic()

    def check(self) -> None:
        """Notices an exit and schedules the restart; restarts when its time has come."""
        now = time.monotonic()
        if self.process is not None and self.process.poll() is not None:
            ran = now - self.started
            if ran >= HEALTHY_AFTER:
                self.delay = FIRST_DELAY
            print(
                f"{self.name} exited with code {self.process.returncode} after {ran:.0f} s; "
                f"restarting it in {self.delay:.0f} s.",
                flush=True,
            )
            self.process = None
            self.restart_at = now + self.delay
            self.delay = min(self.delay * 2, MAX_DELAY)
        if self.process is None and now >= self.restart_at:
            self.start()


def stop_all(children: list[Child]) -> None:
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # The statistics' model fits are small: one BLAS thread per process beats oversubscribed cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    children = [Child(name, command, env) for name, command in COMMANDS.items()]
    try:
        for child in children:
            child.start()
        print(f"\n  Registry running at http://{HOST}:{PORT}/  (web, worker and beat; Ctrl-C stops all)\n", flush=True)
        while not stopping:
            for child in children:
                if not stopping:
                    child.check()
            time.sleep(0.2)
    finally:
        # Ctrl-C again while stopping changes nothing: each child has had its one SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
