"""The workers' shared socket sends small writes at once (``gateway serve --workers N``).

Without TCP_NODELAY on the connections the workers accept, a response written in two
parts waits for the client's delayed ACK: 40 ms on every request. asyncio sets it on each
connection itself, but not on those accepted from a socket a worker inherited; so the
supervisor sets it on the listening socket, which Linux hands on to accepted ones.
"""

from __future__ import annotations

import socket

from gateway.http.server import no_delay


def test_connections_accepted_from_the_shared_socket_send_at_once() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        with socket.create_connection(plain.getsockname()):
            accepted, _ = plain.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    with no_delay(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        with socket.create_connection(listening.getsockname()):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
