"""The login session: its signing secret, and the principal it carries between requests.

The session lives in the records database (:mod:`gateway.identity.session_middleware`);
the cookie carries only its signed id. It holds the principal built at login, which
provider built it (so that removing a provider ends its sessions), and the ID token the
provider issued (the ``id_token_hint`` of an RP-initiated logout).
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

from gateway.domain.principal import Principal
from gateway.identity.claims import trust_rules_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping
    from pathlib import Path

    from gateway.config import OidcProvider, Settings

SECRET_FILE = "session-secret"  # noqa: S105 (a file name, not a secret)
COOKIE_NAME = "gateway_session"
# Session keys: the logged-in principal, and where to go once the login completes.
PRINCIPAL_KEY = "principal"
NEXT_KEY = "login_next"
ID_TOKEN_KEY = "id_token"  # noqa: S105 (a session key, not a secret)


def session_secret(settings: Settings) -> str:
    """GATEWAY_SESSION_SECRET, else a secret generated on first start into the data dir."""
    if settings.session_secret:
        return settings.session_secret
    return _secret_file(settings.data_dir)


def _secret_file(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Owner-only, like the development issuer's key: whoever reads it can forge any session.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def store_principal(
    session: MutableMapping[str, Any],
    provider: OidcProvider,
    principal: Principal,
    id_token: str | None = None,
) -> None:
    """Log ``principal`` in: whatever the session held before is dropped (and the session
    gets a new id)."""
    session.clear()
    if id_token:
        session[ID_TOKEN_KEY] = id_token
    session[PRINCIPAL_KEY] = {
        "provider": provider.name,
        "issuer": principal.issuer,
        "subject": principal.subject,
        "email": principal.email,
        "email_verified": principal.email_verified,
        "display_name": principal.display_name,
        "roles": sorted(principal.roles),
        "organisation": principal.organisation,
    }


def stored_principal(
    session: MutableMapping[str, Any], providers: Iterable[OidcProvider]
) -> Principal | None:
    """The principal the session holds; None when it holds none that is still good."""
    stored = session.get(PRINCIPAL_KEY)
    if not isinstance(stored, dict):
        return None
    provider = next((p for p in providers if p.name == stored.get("provider")), None)
    # A provider removed from the configuration (or now at another issuer) vouches for
    # nobody any more: its sessions end with it.
    if provider is None or provider.issuer != stored.get("issuer"):
        return None
    subject = stored.get("subject")
    roles = stored.get("roles")
    if not isinstance(subject, str) or not isinstance(roles, list):
        return None
    email = stored.get("email")
    email = email if isinstance(email, str) else None
    organisation = stored.get("organisation")
    # Personas the provider may no longer produce are dropped, as for a fresh login.
    granted = frozenset(r for r in roles if isinstance(r, str)) & provider.personas
    verified = stored.get("email_verified") is True and email is not None
    return Principal(
        issuer=provider.issuer,
        subject=subject,
        email=email,
        email_verified=verified,
        display_name=str(stored.get("display_name") or subject),
        roles=granted or Principal.guest().roles,
        organisation=organisation if isinstance(organisation, str) else None,
        # From the configuration in force, like the personas above.
        trust_rules=trust_rules_of(provider, verified_email=verified),
    )


def stored_provider(session: Mapping[str, Any]) -> str | None:
    """The name of the provider that logged the session in, if any."""
    stored = session.get(PRINCIPAL_KEY)
    provider = stored.get("provider") if isinstance(stored, dict) else None
    return provider if isinstance(provider, str) else None


def principal_id_of(session: Mapping[str, Any]) -> str | None:
    """The policy subject (``user:EMAIL``) of the principal the session holds, if any: the
    key by which a person's sessions are listed and ended."""
    stored = session.get(PRINCIPAL_KEY)
    if not isinstance(stored, dict) or not isinstance(stored.get("subject"), str):
        return None
    email = stored.get("email")
    return Principal(
        issuer=stored.get("issuer") if isinstance(stored.get("issuer"), str) else None,
        subject=stored["subject"],
        email=email if isinstance(email, str) else None,
        email_verified=stored.get("email_verified") is True,
        display_name="",
        roles=frozenset(),
    ).id


def log_out(session: MutableMapping[str, Any]) -> None:
    """End the session: emptied, its row in the records database ends with the response."""
    session.clear()
