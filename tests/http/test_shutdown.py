"""SIGTERM ends the server within a bounded time, whatever its requests are doing.

Real processes: ``gateway serve`` with a request that never finishes sending its body, and
``gateway.http.server.serve`` with a request that holds the event loop. The bound given to
``wait`` is only there so a broken build fails instead of hanging; nothing is timed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gateway.http.server import FORCED_EXIT, WATCHDOG_MARGIN
from tests.replicas import free_port, replica

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
SHUTDOWN_TIMEOUT = 1
# Far beyond the bound the server promises (timeout + margin), so only a hang fails.
WAIT = SHUTDOWN_TIMEOUT + WATCHDOG_MARGIN + 30


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never saw {what}")
        time.sleep(0.05)


def test_sigterm_ends_gateway_serve_during_a_request_that_never_completes(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "PYTHONPATH": str(REPO),
    }
    with replica("slow", env, tmp_path) as served:
        host, port = served.url.removeprefix("http://").split(":")
        # Half a body: the request stays in flight, its handler waiting for the rest.
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: gateway\r\ncontent-type: application/json\r\n"
                b'content-length: 100\r\n\r\n{"query": '
            )
            time.sleep(0.5)  # let the server read what was sent (ordering, not timing)
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"gateway serve ignored SIGTERM:\n{served.output()}")
        assert "timeout graceful shutdown exceeded" in served.output()


def test_sigterm_ends_gateway_serve_with_workers_during_a_request_that_never_completes(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "workers.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        # Both workers started (each its own process), on the one port.
        _wait_for(lambda: log.read_text().count("Application startup complete") == 2, "2 workers")
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: gateway\r\ncontent-type: application/json\r\n"
                b'content-length: 100\r\n\r\n{"query": '
            )
            time.sleep(0.5)  # let a worker read what was sent (ordering, not timing)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"gateway serve --workers 2 ignored SIGTERM:\n{log.read_text()}")
        output = log.read_text()
        assert "timeout graceful shutdown exceeded" in output
        assert len(set(re.findall(r"Started server process \[(\d+)\]", output))) == 2
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


BUSY_APP = textwrap.dedent(
    """
    import sys
    from gateway.http.server import serve

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/busy":
            print("holding the event loop", flush=True)
            while True:  # CPU-bound, never yields to the loop
                pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    serve(app, host="127.0.0.1", port=int(sys.argv[1]), shutdown_timeout=int(sys.argv[2]),
          max_message_bytes=1024)
    """
)


def test_sigterm_ends_the_server_while_a_request_holds_the_event_loop(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "busy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", BUSY_APP, str(port), str(SHUTDOWN_TIMEOUT)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: "Uvicorn running" in log.read_text(), "the server start")
        with socket.create_connection(("127.0.0.1", port)) as busy:
            busy.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
            _wait_for(lambda: "holding the event loop" in log.read_text(), "the busy request")
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the server ignored SIGTERM:\n{log.read_text()}")
        assert process.returncode == FORCED_EXIT
        assert "a request holds the event loop" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


BUSY_FACTORY = textwrap.dedent(
    """
    import sys
    from gateway.http.server import serve

    def factory():
        return app

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/busy":
            print("holding the event loop", flush=True)
            while True:  # CPU-bound, never yields to the loop
                pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    if __name__ == "__main__":
        serve("busy:factory", host="127.0.0.1", port=int(sys.argv[1]),
              shutdown_timeout=int(sys.argv[2]), max_message_bytes=1024, workers=2)
    """
)


def test_sigterm_ends_the_workers_while_a_request_holds_an_event_loop(tmp_path: Path) -> None:
    # The supervisor of several workers keeps the same bound: it kills the busy worker.
    (tmp_path / "busy.py").write_text(BUSY_FACTORY)
    port = free_port()
    log = tmp_path / "busy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, str(tmp_path / "busy.py"), str(port), str(SHUTDOWN_TIMEOUT)],
            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: log.read_text().count("Started server process") == 2, "2 workers")
        with socket.create_connection(("127.0.0.1", port)) as busy:
            busy.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
            _wait_for(lambda: "holding the event loop" in log.read_text(), "the busy request")
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the supervisor ignored SIGTERM:\n{log.read_text()}")
        assert process.returncode == FORCED_EXIT
        assert "a request holds the event loop" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
