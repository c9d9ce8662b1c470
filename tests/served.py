"""The whole gateway under a real uvicorn on a free loopback port, in a thread of the test's
own process: for tests where the network is the point (websockets, body limits, concurrent
requests while another is judged)."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from gateway.cli import WS_IMPLEMENTATION
from gateway.http.app import create_app
from gateway.http.server import EVENT_LOOP, GatewayHttpProtocol

if TYPE_CHECKING:
    from gateway.config import Settings

START_TIMEOUT = 30.0


class Served:
    """``with Served(settings) as served:`` then ``served.http`` and ``served.ws``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        port = self.socket.getsockname()[1]
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/graphql"
        config = uvicorn.Config(
            create_app(settings),
            ws=WS_IMPLEMENTATION,
            http=GatewayHttpProtocol,
            loop=EVENT_LOOP,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()
