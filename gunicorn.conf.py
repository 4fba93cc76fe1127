"""gunicorn settings for `make run`: the web workers plus ONE search-index worker.

The index has a single writer (DESIGN.md "Search and matching"); it is a separate process,
`flask search worker`, started when the gunicorn master is ready and stopped when it exits,
so no web worker ever waits for the index lock (docs/search.md explains the choice). Several
hosts: each runs its own gunicorn, hence its own worker and index replica.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

_BIN = Path(sys.executable).parent
_worker: subprocess.Popen | None = None


def when_ready(server):
    global _worker
    if os.environ.get("GUILD_SEARCH_WORKER", "1") == "0":  # an external worker runs it
        return
    env = {**os.environ, "GUILD_SEARCH_WORKER_PARENT": str(os.getpid())}  # exits if orphaned
    _worker = subprocess.Popen([str(_BIN / "flask"), "search", "worker"], env=env)  # noqa: S603
    server.log.info("search index worker started (pid %s)", _worker.pid)


def on_exit(server):
    if _worker is None or _worker.poll() is not None:
        return
    _worker.send_signal(signal.SIGTERM)  # it finishes the batch in hand
    try:
        _worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _worker.kill()
    server.log.info("search index worker stopped")
