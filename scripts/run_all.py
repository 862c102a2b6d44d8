"""Runs the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."""

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


def main() -> int:
    # The statistics' model fits are small: one BLAS thread per process beats oversubscribed cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    processes = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in COMMANDS.items()}  # noqa: S603
    print(f"\n  Registry running at http://{HOST}:{PORT}/  (web, worker and beat; Ctrl-C stops all)\n", flush=True)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the others.", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
