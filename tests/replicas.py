"""Gateway replicas as real processes (``gateway serve``) sharing databases, for the
replica test and ``bench/replicas.py``."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from gateway.cli import demo_principal
from gateway.identity.dev_issuer import DevIssuer

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

START_TIMEOUT = 60.0
SPACES = "{ spaces(first: 50) { edges { node { name } } } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def replica(name: str, env: Mapping[str, str], workdir: Path) -> Iterator[Replica]:
    """One ``gateway serve`` on a free loopback port, ready (``/healthz``) when yielded."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    started = Replica(name, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(started)
        yield started
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a server process to end; kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(replica: Replica) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(f"replica {replica.name} exited:\n{replica.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{replica.url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"replica {replica.name} not ready in {START_TIMEOUT}s:\n{replica.output()}")


def bearer(data_dir: Path, email: str) -> dict[str, str]:
    """A demo user's token from the development issuer the replicas share (its key is in
    their common data directory)."""
    person = demo_principal(email, ())
    token = DevIssuer.open(data_dir).issue(
        email=email, name=person.display_name, roles=sorted(person.roles)
    )
    return {"Authorization": f"Bearer {token}"}


def space_names(client: httpx.Client, replica: Replica, headers: dict[str, str]) -> set[str]:
    response = client.post(f"{replica.url}/graphql", json={"query": SPACES}, headers=headers)
    response.raise_for_status()
    return {e["node"]["name"] for e in response.json()["data"]["spaces"]["edges"]}


def admin(
    client: httpx.Client, replica: Replica, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    response = client.post(
        f"{replica.url}/admin/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
    )
    response.raise_for_status()
    body = response.json()
    if "errors" in body:
        raise AssertionError(body["errors"])
    return body["data"]


APPLY = """mutation($add: [String!]!, $remove: [String!]!, $v: Int!) {
  applyPolicyChange(input: {add: $add, remove: $remove, expectedVersion: $v}) {
    version { number } errors { code message }
  }
}"""


def wait_until(check: Any, timeout: float, step: float = 0.01) -> float | None:
    """Seconds until ``check()`` was true, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(step)
    return None
