"""A local OpenID provider for tests: discovery and JWKS over real HTTP on loopback.

One server hosts several issuers (``/corp``, ``/partner``, ...), like realms in
Keycloak. Each keeps its published keys and counts the requests it answers, so
tests can say exactly how often the gateway came back for keys. Keys are
generated per run.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

    Key = RSAKey | ECKey

AUDIENCE = "collaboration-gateway"


@functools.cache
def make_key(label: str, alg: str = "RS256") -> Key:
    """A fresh key for this test run, the same for every test asking for ``label``."""
    parameters = {"kid": f"{label}-{time.time_ns()}", "alg": alg, "use": "sig"}
    if alg.startswith("ES"):
        return ECKey.generate_key("P-256", parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


@dataclass
class Tenant:
    """One issuer: its published keys, its signing key, and how often it was asked."""

    issuer: str
    signing_key: Key
    published: list[Key] = field(default_factory=list)
    jwks_requests: int = 0
    discovery_requests: int = 0
    # A misbehaving provider: its discovery document names another issuer.
    discovery_issuer: str | None = None
    # A slow provider: seconds before the key set is answered.
    jwks_delay: float = 0.0
    # Set whenever a key-set request arrives (the provider runs in another thread).
    jwks_requested: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.published = self.published or [self.signing_key]

    def rotate(self, key: Key) -> None:
        """Publish ``key`` next to the current ones and sign with it from now on."""
        self.published = [*self.published, key]
        self.signing_key = key

    def retire(self, key: Key) -> None:
        self.published = [k for k in self.published if k.kid != key.kid]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "subject-1",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, key: Key | None = None, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        """A token signed like this provider signs them (``key`` and ``header`` to forge)."""
        key = key or self.signing_key
        head = {"alg": key.alg, "kid": key.kid, "typ": "JWT", **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}  # header={"kid": None} drops it
        return jwt.encode(head, self.claims(**claims), key, algorithms=[head["alg"]])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWT with an empty signature, built by hand (no library signs alg=none)."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hs256_with(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The key-confusion attack: HMAC-signed with a public key as the secret.

    Built by hand with hmac: joserfc refuses to use an RSA key as an HMAC secret.
    """
    signing_input = unsigned({**header, "alg": "HS256"}, claims)[:-1]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """``token`` with its payload replaced and its signature kept (tampering)."""
    head, _payload, signature = token.split(".")
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


class LocalIdP:
    """The provider's HTTP server, run by uvicorn on a free loopback port in a thread."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.tenants: dict[str, Tenant] = {}
        app = Starlette(
            routes=[
                Route("/{tenant}/.well-known/openid-configuration", self._discovery),
                Route("/{tenant}/jwks", self._jwks),
            ]
        )
        config = uvicorn.Config(
            app, lifespan="off", ws="none", log_level="warning", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    def add(self, name: str, key: Key) -> Tenant:
        tenant = Tenant(issuer=f"{self.base_url}/{name}", signing_key=key)
        self.tenants[name] = tenant
        return tenant

    def start(self) -> None:
        # A thread has its own event loop, and uvicorn installs no signal handlers there.
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the local OpenID provider did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop answering: later connections to the provider are refused."""
        if self.thread is None:
            return
        self.server.should_exit = True
        self.thread.join(10)
        self.thread = None
        self.socket.close()

    async def _discovery(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        tenant.discovery_requests += 1
        return JSONResponse(
            {
                "issuer": tenant.discovery_issuer or tenant.issuer,
                "jwks_uri": f"{tenant.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    async def _jwks(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        tenant.jwks_requests += 1
        tenant.jwks_requested.set()
        if tenant.jwks_delay:
            await asyncio.sleep(tenant.jwks_delay)  # the provider's own loop, not the test's
        return JSONResponse({"keys": [k.as_dict(private=False) for k in tenant.published]})

    def _tenant(self, request: Request) -> Tenant:
        return self.tenants[request.path_params["tenant"]]
