"""An endpoint read from a provider's discovery document (OpenID Connect Discovery 1.0)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from gateway.config import OidcProvider


class DiscoveryFailed(Exception):
    """The endpoint cannot be discovered; the message says why, ``detail`` is for the log."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail


async def discover_endpoint(client: httpx.AsyncClient, provider: OidcProvider, name: str) -> str:
    """The URL the provider's discovery document gives for ``name`` (e.g.
    ``introspection_endpoint``), checked to belong to the provider and to be no weaker
    than its issuer's URL (the endpoint receives tokens)."""
    try:
        response = await client.get(provider.discovery_url, headers={"Accept": "application/json"})
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DiscoveryFailed("its discovery document cannot be fetched", str(exc)) from None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise DiscoveryFailed("its discovery document cannot be read")
    # Discovery 1.0, 4.3: the document must name the issuer it was fetched for, or its
    # endpoint could be another issuer's.
    if document.get("issuer") != provider.issuer:
        raise DiscoveryFailed("its discovery document names another issuer")
    url = document.get(name)
    if not isinstance(url, str) or not url:
        raise DiscoveryFailed(f"its discovery document names no {name}; configure one")
    if urlsplit(provider.issuer).scheme == "https" and urlsplit(url).scheme != "https":
        raise DiscoveryFailed(f"its discovered {name} is not https")
    return url
