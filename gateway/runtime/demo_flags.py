"""The demo's flagged posts: written to the records once its stores are freshly loaded.

Flags live in the gateway's records, not in a store, so the stores' demo loaders cannot
write them; this finds each flagged demo question by its title (a search over the whole
store, as no principal) and records the flag, as ``flagPost`` would have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.permissions import USER_PREFIX
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from collections.abc import Mapping

    from gateway.domain.demo import DemoData
    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.stores.interface import Store

__all__ = ["seed_demo_flags"]


async def seed_demo_flags(
    stores: Mapping[StoreName, Store], records: Records, data: DemoData, loaded: set[StoreName]
) -> int:
    """Record the demo's flags on questions of the stores in ``loaded`` (those just seeded);
    how many were recorded. A flag recorded before is left as it is."""
    done = 0
    for demo in data.flags:
        if demo.store not in loaded:
            continue
        everything = StoreScope(demo.store, allow=Grants(everything=True))
        found = await stores[demo.store].search_questions(everything, demo.question, 10)
        question = next((q for q in found if q.title == demo.question), None)
        if question is None:
            continue
        added = await records.add_flag(
            post=ids.encode("Question", demo.store, question.id),
            space=ids.encode("Space", demo.store, question.space_id),
            flagger=f"{USER_PREFIX}{data.person(demo.flagger).email}",
            reason=demo.reason,
            note=demo.note,
            now=data.loaded_at,
        )
        done += added is not None
    return done
