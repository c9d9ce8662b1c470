"""What the app builds once at start-up and hands to every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.community import CommunityStore
from adapters.internal import InternalStore
from gateway.domain import StoreName
from gateway.mentions import NotificationHub
from gateway.policies.compiler import PolicyIndex
from gateway.policies.policy import Policy
from gateway.records import Records

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.identity.dev_issuer import DevIssuer
    from gateway.stores import Store


@dataclass
class Services:
    settings: Settings
    stores: dict[StoreName, Store]
    policy: PolicyIndex
    dev_issuer: DevIssuer | None
    records: Records
    # Wakes this replica's subscribers (notificationAdded) when a notification is written.
    hub: NotificationHub = field(default_factory=NotificationHub)

    async def close(self) -> None:
        for store in self.stores.values():
            await store.close()
        await self.records.close()


def open_stores(settings: Settings) -> dict[StoreName, Store]:
    """One adapter per store, each on its own URL (the two may be different engines)."""
    return {
        StoreName.INTERNAL: InternalStore(settings.internal_url),
        StoreName.COMMUNITY: CommunityStore(settings.community_url),
    }


def load_policy(settings: Settings) -> PolicyIndex:
    return PolicyIndex(Policy.from_file(settings.policy_file))
