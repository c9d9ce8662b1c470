"""A local OpenID provider for tests: discovery, JWKS, authorize, token, introspection, userinfo.

One server hosts several issuers (``/corp``, ``/partner``, ...), like realms in
Keycloak. Each keeps its published keys and counts the requests it answers, so
tests can say exactly how often the gateway came back for keys. Keys are
generated per run.

The authorization endpoint approves its tenant's ``user`` at once (no login
page) and redirects back with a code. The token endpoint is strict like a real
provider: a code is good once, for the client and redirect URI it was issued
to, and only with the PKCE verifier whose S256 hash was the challenge. The ID
token carries the nonce of the authorization request, unless a test switches
the tenant to misbehave (``id_token_claims``).

Each tenant also mints opaque access tokens (random strings that mean nothing
outside it) and answers for them at its introspection endpoint (RFC 7662),
only to a client that authenticates with the tenant's client secret. Like node
oidc-provider, it answers for refresh tokens too, with no ``token_type`` and no
``aud`` (``refresh_token``).

Its userinfo endpoint (OIDC Core 5.3) answers for a valid access token of the
tenant (a JWT it signed, or an opaque access token it minted) with the
``profiles`` entry of the token's subject.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote

import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

    Key = RSAKey | ECKey

AUDIENCE = "collaboration-gateway"
# The gateway's client at every tenant (config: client_id).
CLIENT_ID = "gateway-web"


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
    # --- the login flow ---
    # The client the gateway is registered as; a secret means client_secret_basic.
    client_id: str = CLIENT_ID
    client_secret: str | None = None
    # Who the authorization endpoint logs in (their claims go into the ID token).
    user: dict[str, Any] = field(default_factory=dict)
    # Set: the authorization endpoint redirects back with this error instead of a code.
    authorize_error: str | None = None
    # Merged into every ID token (None drops a claim): how tests make the provider lie.
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    # Codes issued and not yet redeemed, and what each token request carried.
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    # --- token introspection (RFC 7662) ---
    # The opaque tokens this tenant minted and not revoked, with what it says about each.
    opaque: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What each introspection request carried, and how the client authenticated ("auth").
    introspection_requests: list[dict[str, str]] = field(default_factory=list)
    # False: the discovery document names no introspection endpoint.
    advertise_introspection: bool = True
    # True: it advertises an end_session_endpoint (RP-initiated logout), whose requests
    # are kept here.
    advertise_end_session: bool = False
    logout_requests: list[dict[str, str]] = field(default_factory=list)
    # A provider in trouble: answers this HTTP status, or only after a delay (seconds).
    introspection_status: int | None = None
    introspection_delay: float = 0.0
    # False: a provider whose clock is behind, calling expired tokens active.
    introspection_checks_expiry: bool = True
    # The refresh tokens among ``opaque``: never good at the userinfo endpoint.
    refresh_tokens: set[str] = field(default_factory=set)
    # --- userinfo (OIDC Core 5.3) ---
    # What the userinfo endpoint says about each subject (besides its sub).
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How many userinfo requests arrived, and the Authorization header of each.
    userinfo_requests: list[str] = field(default_factory=list)
    advertise_userinfo: bool = True
    # Merged into the discovery document: how tests make it name broken endpoints.
    discovery_extra: dict[str, Any] = field(default_factory=dict)
    # A provider in trouble: answers this HTTP status, or only after a delay (seconds).
    userinfo_status: int | None = None
    userinfo_delay: float = 0.0
    # Set: the endpoint answers with this sub whatever the token's (a broken provider).
    userinfo_sub: str | None = None

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

    def opaque_token(self, **claims: Any) -> str:
        """A new opaque access token; introspection answers ``claims`` for it (None drops one)."""
        token = secrets.token_urlsafe(32)
        self.opaque[token] = self.claims(**{"token_type": "Bearer", "client_id": "app", **claims})
        return token

    def refresh_token(self, client_id: str = CLIENT_ID, **claims: Any) -> str:
        """A new refresh token, which introspection answers for as node oidc-provider does:
        active, with ``client_id`` and ``scope`` but no ``token_type`` and no ``aud``."""
        token = secrets.token_urlsafe(32)
        self.opaque[token] = self.claims(
            **{"aud": None, "client_id": client_id, "scope": "openid offline_access", **claims}
        )
        self.refresh_tokens.add(token)
        return token

    def revoke(self, token: str) -> None:
        self.opaque.pop(token, None)

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
                Route("/{tenant}/authorize", self._authorize),
                Route("/{tenant}/token", self._token, methods=["POST"]),
                Route("/{tenant}/introspect", self._introspect, methods=["POST"]),
                Route("/{tenant}/userinfo", self._userinfo),
                Route("/{tenant}/logout", self._logout),
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
        document = {
            "issuer": tenant.discovery_issuer or tenant.issuer,
            "jwks_uri": f"{tenant.issuer}/jwks",
            "authorization_endpoint": f"{tenant.issuer}/authorize",
            "token_endpoint": f"{tenant.issuer}/token",
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }
        if tenant.advertise_introspection:
            document["introspection_endpoint"] = f"{tenant.issuer}/introspect"
        if tenant.advertise_userinfo:
            document["userinfo_endpoint"] = f"{tenant.issuer}/userinfo"
        if tenant.advertise_end_session:
            document["end_session_endpoint"] = f"{tenant.issuer}/logout"
        document.update(tenant.discovery_extra)
        return JSONResponse(document)

    async def _logout(self, request: Request) -> RedirectResponse:
        """RP-initiated logout: forget the user's login here, then back to the client with
        its state, as OpenID Connect RP-Initiated Logout 1.0 says."""
        tenant = self._tenant(request)
        params = dict(request.query_params)
        tenant.logout_requests.append(params)
        back = params["post_logout_redirect_uri"]
        if "state" in params:
            back += f"?state={quote(params['state'], safe='')}"
        return RedirectResponse(back, status_code=302)

    async def _jwks(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        tenant.jwks_requests += 1
        tenant.jwks_requested.set()
        if tenant.jwks_delay:
            await asyncio.sleep(tenant.jwks_delay)  # the provider's own loop, not the test's
        return JSONResponse({"keys": [k.as_dict(private=False) for k in tenant.published]})

    async def _authorize(self, request: Request) -> JSONResponse | RedirectResponse:
        tenant = self._tenant(request)
        params = request.query_params
        # What a provider checks before it may redirect at all: the client and its URI.
        if params.get("client_id") != tenant.client_id or not params.get("redirect_uri"):
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        redirect_uri = params["redirect_uri"]
        state = params.get("state", "")
        back: dict[str, str] = {"state": state}
        if tenant.authorize_error:
            back["error"] = tenant.authorize_error
        elif params.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        elif params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            back["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            tenant.codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": params["code_challenge"],
                "nonce": params.get("nonce"),
            }
            back["code"] = code
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in back.items())
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

    async def _token(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        # Parsed by hand: Starlette's form parser needs python-multipart, which the
        # gateway does not otherwise depend on.
        data = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        tenant.token_requests.append(data)
        client_id, secret = _client_auth(request.headers.get("authorization"), data)
        if client_id != tenant.client_id or secret != tenant.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if data.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        # A code is redeemed once: popped before any other check, so a failed try burns it.
        issued = tenant.codes.pop(data.get("code", ""), None)
        if issued is None:
            return _invalid_grant("the code is unknown or already used")
        if data.get("redirect_uri") != issued["redirect_uri"]:
            return _invalid_grant("redirect_uri differs from the authorization request")
        verifier = data.get("code_verifier", "")
        if b64(hashlib.sha256(verifier.encode()).digest()) != issued["challenge"]:
            return _invalid_grant("the PKCE code_verifier does not match the code_challenge")
        now = int(time.time())
        claims = {
            "iss": tenant.issuer,
            "aud": tenant.client_id,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": issued["nonce"],
            **tenant.user,
            **tenant.id_token_claims,
        }
        key = tenant.signing_key
        id_token = jwt.encode(
            {"alg": key.alg, "kid": key.kid, "typ": "JWT"},
            {k: v for k, v in claims.items() if v is not None},
            key,
            algorithms=[key.alg],
        )
        return JSONResponse(
            {
                "access_token": tenant.token(sub=claims["sub"]),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def _introspect(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        header = request.headers.get("authorization")
        data = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        via = "basic" if header and header.lower().startswith("basic ") else "form"
        tenant.introspection_requests.append(
            {"auth": via, **{k: v for k, v in data.items() if k != "client_secret"}}
        )
        if tenant.introspection_delay:
            await asyncio.sleep(tenant.introspection_delay)
        if tenant.introspection_status is not None:
            return JSONResponse({"error": "server_error"}, status_code=tenant.introspection_status)
        # RFC 7662, 2.1: only authorized clients may ask; a public client cannot.
        client_id, secret = _client_auth(header, data)
        if tenant.client_secret is None or (client_id, secret) != (
            tenant.client_id,
            tenant.client_secret,
        ):
            return JSONResponse(
                {"error": "invalid_client"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="introspection"'},
            )
        token = data.get("token")
        if not token:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        answer = tenant.opaque.get(token)
        exp = answer.get("exp") if answer else None
        expired = isinstance(exp, int) and exp <= time.time()
        if answer is None or (expired and tenant.introspection_checks_expiry):
            # RFC 7662, 2.2: nothing more than that, whatever the reason.
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, **answer}, headers={"Cache-Control": "no-store"})

    async def _userinfo(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        header = request.headers.get("authorization", "")
        tenant.userinfo_requests.append(header)
        if tenant.userinfo_delay:
            await asyncio.sleep(tenant.userinfo_delay)
        if tenant.userinfo_status is not None:
            return JSONResponse({"error": "server_error"}, status_code=tenant.userinfo_status)
        scheme, _, token = header.partition(" ")
        subject = _access_token_subject(tenant, token) if scheme.lower() == "bearer" else None
        if subject is None:
            # RFC 6750, 3.1: the challenge says why.
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        sub = tenant.userinfo_sub or subject
        return JSONResponse({**tenant.profiles.get(subject, {}), "sub": sub})

    def _tenant(self, request: Request) -> Tenant:
        return self.tenants[request.path_params["tenant"]]


def _access_token_subject(tenant: Tenant, token: str) -> str | None:
    """The subject of a valid access token of ``tenant``: a JWT it signed, or an opaque
    access token it minted (not a refresh token); None for anything else."""
    if token in tenant.opaque:
        if token in tenant.refresh_tokens:
            return None
        claims = tenant.opaque[token]
    else:
        for key in tenant.published:
            try:
                claims = jwt.decode(token, key, algorithms=[key.alg]).claims
                break
            except (JoseError, ValueError):
                continue
        else:
            return None
    exp = claims.get("exp")
    if isinstance(exp, int) and exp <= time.time():
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


def _client_auth(header: str | None, form: dict[str, str]) -> tuple[str | None, str | None]:
    """The client id and secret from HTTP Basic (client_secret_basic), else the form."""
    if header and header.lower().startswith("basic "):
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id"), form.get("client_secret")


def _invalid_grant(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_grant", "error_description": description}, 400)
