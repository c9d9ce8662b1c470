"""The browser login: ``/auth/login/{provider}``, ``/auth/callback/{provider}``, ``/auth/logout``.

Authorization code with PKCE (S256) through authlib's Starlette client, which
keeps the state, nonce and code verifier in the session and validates the ID
token (signature with the provider's algorithms only, ``iss``, ``aud`` = our
client id, ``exp``, nonce). Its claims become the principal through the same
rules as a bearer token's (:func:`principal_from_claims`).

Every failure answers 400, 401 or 502 with a message, logs nobody in, and
leaves a warning in the log naming the provider and the reason (never the
code, the state or a token).
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.starlette_client import StarletteOAuth2App
from authlib.integrations.starlette_client.integration import StarletteIntegration
from joserfc.errors import JoseError, MissingClaimError
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.identity.claims import principal_from_claims
from gateway.identity.session import (
    COOKIE_NAME,
    ID_TOKEN_KEY,
    NEXT_KEY,
    log_out,
    store_principal,
    stored_provider,
)
from gateway.identity.tokens import TokenRejected

if TYPE_CHECKING:
    from collections.abc import Sequence

    from starlette.requests import Request

    from gateway.config import OidcProvider

log = logging.getLogger("gateway.identity")

# Discovery, token and key requests run while the browser waits on the callback.
OUTBOUND_TIMEOUT = 5.0
MAX_NEXT = 2000


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site, else "/": never an open redirect.

    Refused: "//host" and "/\\host" (browsers read both as another host), anything with
    a scheme or host, and control characters (browsers drop tabs and newlines, so
    "/\\t/host" would become "//host").
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return "/"
    if value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


class LoginFailed(Exception):
    """A login that cannot complete; the message is shown to the visitor."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ProviderClient(StarletteOAuth2App):
    """Authlib's client for one provider, held to what the gateway's configuration says."""

    def __init__(self, provider: OidcProvider) -> None:
        scopes = provider.scopes if "openid" in provider.scopes else ("openid", *provider.scopes)
        client_kwargs: dict[str, Any] = {
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "timeout": OUTBOUND_TIMEOUT,
        }
        if provider.client_secret is None:
            # A public client: PKCE alone proves the code is ours.
            client_kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105 (a method)
        super().__init__(
            StarletteIntegration(provider.name),
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs=client_kwargs,
        )
        self.provider = provider

    async def load_server_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = await super().load_server_metadata()
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was
        # fetched for. Authlib checks the ID token's iss against this very value.
        if metadata.get("issuer") != self.provider.issuer:
            raise LoginFailed(
                502,
                f"the discovery document of {self.provider.name!r} names issuer "
                f"{metadata.get('issuer')!r}, not {self.provider.issuer!r}",
            )
        # Authlib accepts the ID token algorithms the provider advertises; the allow-list
        # is ours to set, so "none" or HS256 never verify even if the provider offers them.
        metadata["id_token_signing_alg_values_supported"] = list(self.provider.algorithms)
        if self.provider.jwks_uri:
            metadata["jwks_uri"] = self.provider.jwks_uri
        return metadata


class BrowserLogin:
    """The login routes for every provider configured with a ``client_id``."""

    def __init__(
        self,
        providers: Sequence[OidcProvider],
        public_url: str | None = None,
        *,
        secure_cookies: bool = False,
    ) -> None:
        self.providers = {p.name: p for p in providers}
        self.clients = {p.name: ProviderClient(p) for p in providers if p.client_id}
        # Behind a proxy the request's own URL is the proxy's upstream (http://10.0.0.7:8000);
        # the provider must send the browser back to the public one.
        self.public_url = public_url
        # Only to explain a callback that arrives without the session cookie.
        self.secure_cookies = secure_cookies

    def routes(self) -> list[Route]:
        return [
            Route("/auth/login/{provider}", self.login, methods=["GET"], name="auth_login"),
            Route(
                "/auth/callback/{provider}", self.callback, methods=["GET"], name="auth_callback"
            ),
            Route("/auth/logout", self.logout, methods=["GET", "POST"], name="auth_logout"),
            Route("/auth/logged-out", self.logged_out, methods=["GET"], name="auth_logged_out"),
        ]

    def _client(self, name: str) -> ProviderClient:
        client = self.clients.get(name)
        if client is not None:
            return client
        if name in self.providers:
            raise LoginFailed(
                404,
                f"provider {name!r} accepts bearer tokens only: it has no client_id, "
                "so browsers cannot log in through it",
            )
        raise LoginFailed(404, f"there is no identity provider named {name!r}")

    async def login(self, request: Request) -> Response:
        """Send the browser to the provider's authorization endpoint."""
        try:
            client = self._client(request.path_params["provider"])
            name = client.provider.name
            if self.public_url:
                redirect_uri = (
                    f"{self.public_url}{request.app.url_path_for('auth_callback', provider=name)}"
                )
            else:
                redirect_uri = str(request.url_for("auth_callback", provider=name))
            # The provider compares it with the registered redirect URI; when they differ
            # (localhost versus 127.0.0.1, a proxy's address) the operator needs to see it.
            log.info(
                "login through %r: the provider is to send the browser back to %s",
                name,
                redirect_uri,
            )
            response = await client.authorize_redirect(request, redirect_uri)
        except LoginFailed as exc:
            return _failure(request, exc, "login")
        except (httpx.HTTPError, AuthlibBaseError, ValueError, RuntimeError) as exc:
            # Discovery failed: the provider is down or answers nonsense.
            return _failure(request, _unreachable(request, exc), "login")
        request.session[NEXT_KEY] = safe_next(request.query_params.get("next"))
        return response

    async def callback(self, request: Request) -> Response:
        """Exchange the code, validate the ID token, and log the principal in."""
        name = request.path_params["provider"]
        try:
            client = self._client(name)
            claims, id_token = await self._claims(request, client)
            principal = principal_from_claims(client.provider, claims)
        except LoginFailed as exc:
            return _failure(request, exc, "callback")
        except TokenRejected as exc:
            failure = LoginFailed(401, f"the ID token was rejected: {exc}")
            return _failure(request, failure, "callback")
        next_path = safe_next(request.session.get(NEXT_KEY))
        store_principal(request.session, client.provider, principal, id_token)
        log.info("%s logged in through %s", principal.id, name)
        return RedirectResponse(next_path, status_code=303)

    async def _claims(
        self, request: Request, client: ProviderClient
    ) -> tuple[dict[str, Any], str | None]:
        """The verified ID token's claims, and the token itself (for logout's hint)."""
        try:
            token = await client.authorize_access_token(
                request,
                leeway=client.provider.leeway,
                # Authlib checks iss but not that the token is addressed to us.
                claims_options={
                    "iss": {"essential": True, "value": client.provider.issuer},
                    "aud": {"essential": True, "value": client.client_id},
                },
            )
        except MismatchingStateError:
            raise LoginFailed(400, self._state_missing(request)) from None
        except JoseError as exc:
            # Signature, algorithm, issuer, audience, expiry or nonce: joserfc's verdict.
            raise LoginFailed(401, f"the ID token was rejected: {_describe(exc)}") from None
        except AuthlibBaseError as exc:
            # The provider's error redirect, or its token endpoint refusing the code
            # (already used, or a PKCE verifier that does not match).
            error = getattr(exc, "error", None) or "error"
            description = getattr(exc, "description", None)
            detail = f"{error}: {description}" if description else error
            raise LoginFailed(400, f"the identity provider refused the login ({detail})") from None
        except (httpx.HTTPError, ValueError, RuntimeError, KeyError) as exc:
            raise _unreachable(request, exc) from None
        claims = token.get("userinfo")
        if not isinstance(claims, dict):
            raise LoginFailed(401, "the identity provider sent no ID token")
        id_token = token.get("id_token")
        return dict(claims), id_token if isinstance(id_token, str) else None

    def _state_missing(self, request: Request) -> str:
        """Why the login's state is not in the session, as far as the request tells."""
        if COOKIE_NAME in request.cookies:
            return "the login's state is missing, already used or from another browser; start again"
        scheme = urlsplit(self.public_url).scheme if self.public_url else request.url.scheme
        if self.secure_cookies and scheme == "http":
            # The browser was given a Secure cookie over http and will not send it back.
            return (
                "the login's state is missing: the browser sent no session cookie back. The "
                "cookie is Secure (identity.secure_cookies is on), so browsers return it over "
                "https only and a login over plain http cannot complete: use https, or set "
                "identity.secure_cookies = false where the gateway is reached over http"
            )
        return (
            "the login's state is missing: the browser sent no session cookie back (cookies "
            "blocked, or the login began under another host name, e.g. localhost versus "
            "127.0.0.1: set identity.public_url); start again"
        )

    async def logout(self, request: Request) -> Response:
        """POST logs out; GET shows a button that does (a GET link could be forged).

        The session ends at once (its row in the records database, on every replica).
        When the provider that logged the browser in advertises an ``end_session_endpoint``,
        the browser goes there next (RP-initiated logout, with the ID token as hint), so
        the provider's own session ends too and the next login is not silently the same
        person; the provider sends it back to ``/auth/logged-out``, then on to ``next``.
        """
        if request.method == "POST":
            # The one field of our own form, parsed by hand: Starlette's form parser would
            # need python-multipart for this alone.
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            next_path = safe_next(form.get("next", [None])[0])
            provider = stored_provider(request.session)
            id_token = request.session.get(ID_TOKEN_KEY)
            log_out(request.session)
            end_session = await self._end_session_url(request, provider, id_token, next_path)
            return RedirectResponse(end_session or next_path, status_code=303)
        next_path = safe_next(request.query_params.get("next"))
        return HTMLResponse(
            "<!doctype html><title>Log out</title>"
            '<form method="post" action="/auth/logout">'
            f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
            "<button>Log out</button></form>"
        )

    async def logged_out(self, request: Request) -> Response:
        """Where a provider returns the browser after its logout: on to the page it came from."""
        return RedirectResponse(safe_next(request.query_params.get("state")), status_code=303)

    async def _end_session_url(
        self, request: Request, provider: str | None, id_token: object, next_path: str
    ) -> str | None:
        client = self.clients.get(provider) if provider else None
        if client is None or not isinstance(id_token, str):
            return None
        try:
            metadata = await client.load_server_metadata()
        except (LoginFailed, httpx.HTTPError, AuthlibBaseError, ValueError, RuntimeError) as exc:
            # The local session has ended already; the provider's may outlive it.
            log.warning("logout at %r skipped, its discovery failed: %s", provider, exc)
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        if self.public_url:
            back = f"{self.public_url}{request.app.url_path_for('auth_logged_out')}"
        else:
            back = str(request.url_for("auth_logged_out"))
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": back,
                "client_id": client.client_id,
                "state": next_path,
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _unreachable(request: Request, exc: Exception) -> LoginFailed:
    reason = str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
    provider = request.path_params.get("provider")
    return LoginFailed(502, f"the identity provider {provider!r} cannot be reached ({reason})")


def _describe(exc: JoseError) -> str:
    claim = getattr(exc, "claim", None)
    if isinstance(exc, MissingClaimError):
        return f"it lacks the {claim} claim"
    if claim == "nonce":
        return "its nonce does not match this login"
    text = getattr(exc, "description", None) or str(exc) or exc.__class__.__name__
    return text.rstrip(".")


def _failure(request: Request, exc: LoginFailed, step: str) -> Response:
    """The error as JSON for API clients, as a short page for browsers; and a log line."""
    message = str(exc)
    # The reason may quote the provider's error_description: keep the code and state out
    # of the log even if a provider echoed them there.
    logged = message
    for secret in (request.query_params.get("code"), request.query_params.get("state")):
        if secret:
            logged = logged.replace(secret, "[redacted]")
    log.warning(
        "%s through %r refused (HTTP %d): %s",
        step,
        request.path_params.get("provider"),
        exc.status,
        logged,
    )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status_code=exc.status)
    return HTMLResponse(
        "<!doctype html><title>Login failed</title>"
        f"<h1>Login failed</h1><p>{html.escape(message)}</p>",
        status_code=exc.status,
    )
