"""Run the app under uvicorn, with a shutdown that ends within a bounded time.

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections and gives in-flight requests
``server.shutdown_timeout`` seconds, then cancels them. That needs a running event loop:
a request that holds the loop (CPU-bound) would keep the process alive for as long as it
runs, so a watchdog thread, armed by the same signal, ends the process
``WATCHDOG_MARGIN`` seconds after the deadline if it is still there.

With several workers (``workers`` > 1) uvicorn's supervisor process holds the socket and
starts each worker afresh from an import string (an app factory). On SIGTERM it passes the
signal on to the workers, which shut down as above; the same bound is kept by the
supervisor, which kills a worker still there at the deadline plus the margin.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from gateway.http.protocol import GatewayHttpProtocol

if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from starlette.types import ASGIApp

__all__ = ["EVENT_LOOP", "WATCHDOG_MARGIN", "WS_IMPLEMENTATION", "GatewayHttpProtocol", "serve"]

# uvicorn's websockets protocol for GraphQL subscriptions (its default is deprecated).
WS_IMPLEMENTATION = "websockets-sansio"
# uvloop where it is installed (not on Windows): its loop costs a request about a fifth less
# than asyncio's (gateway.http.protocol measures both).
EVENT_LOOP = "auto"
# Beyond the graceful deadline: time for cancelled requests to unwind and the lifespan to
# close the stores' pools.
WATCHDOG_MARGIN = 5.0
# The exit status when the watchdog had to end the process.
FORCED_EXIT = 70  # EX_SOFTWARE


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, deadline: float) -> None:
        super().__init__(config)
        self.deadline = deadline
        self.watchdog: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in the main thread between two bytecodes, even while the loop is blocked;
        # the loop may never look at should_exit again, so the timer does not rely on it.
        super().handle_exit(sig, frame)
        if self.watchdog is None:
            self.watchdog = threading.Timer(self.deadline, _force_exit, args=(self.deadline,))
            self.watchdog.daemon = True
            self.watchdog.start()


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, which waits for its workers to stop for
    ``deadline`` seconds at most, then kills those still there."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], deadline: float
    ) -> None:
        super().__init__(config, sockets)
        self.deadline = deadline
        self.forced = False

    def join_all(self) -> None:
        until = time.monotonic() + self.deadline
        for worker in self.processes:
            worker.process.join(max(0.0, until - time.monotonic()))
        stuck = [worker for worker in self.processes if worker.process.is_alive()]
        if stuck:
            self.forced = True
            _say_still_running(self.deadline)
            for worker in stuck:
                worker.kill()
                worker.process.join()


def _say_still_running(after: float) -> None:
    print(
        f"gateway: still running {after:.0f}s after the signal to stop (a request holds the "
        "event loop); exiting now",
        file=sys.stderr,
        flush=True,
    )


def _force_exit(after: float) -> None:
    _say_still_running(after)
    os._exit(FORCED_EXIT)


def no_delay(sock: socket.socket) -> socket.socket:
    """Send small writes at once on every connection the workers accept (Linux hands the
    listening socket's TCP_NODELAY to them). asyncio sets it on each connection itself,
    but not on those accepted from a socket a worker inherited (its ``proto`` reads 0),
    and a response written in two parts then waited for the client's delayed ACK: every
    request to ``--workers 2`` took 40 ms more, /healthz included."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def serve(
    app: ASGIApp | str,
    *,
    host: str,
    port: int,
    shutdown_timeout: float,
    max_message_bytes: int,
    workers: int = 1,
    log_config: dict[str, Any] | None = None,
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; return within ``shutdown_timeout`` +
    ``WATCHDOG_MARGIN`` seconds of the signal, whatever the requests in flight do.

    ``workers`` > 1 needs ``app`` as the import string of a factory ("module:function")
    that each worker calls to build its own app. ``log_config`` (a dictConfig) replaces
    uvicorn's own logging configuration, in every worker too."""
    if workers > 1 and not isinstance(app, str):
        raise TypeError("several workers need the app as a factory's import string")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=LOGGING_CONFIG if log_config is None else log_config,
        ws=WS_IMPLEMENTATION,
        http=GatewayHttpProtocol,
        loop=EVENT_LOOP,
        # Annotated int, but uvicorn hands it to asyncio.wait_for, which takes fractions too.
        timeout_graceful_shutdown=shutdown_timeout,  # type: ignore[arg-type]
        # The websocket layer refuses larger frames itself (close 1009) before buffering
        # them; BodySizeLimit does the same for messages that arrive in pieces.
        ws_max_size=max_message_bytes,
        workers=workers,
        factory=isinstance(app, str),
    )
    deadline = shutdown_timeout + WATCHDOG_MARGIN
    if workers == 1:
        _Server(config, deadline).run()
        return
    supervisor = _Supervisor(config, [no_delay(config.bind_socket())], deadline)
    supervisor.run()
    if supervisor.forced:
        raise SystemExit(FORCED_EXIT)
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        raise SystemExit(STARTUP_FAILURE)  # the supervisor gave up: the app cannot start
