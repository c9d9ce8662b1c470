"""The real principals and spaces a policy is judged over: for impact, who-can and reports.

Everyone the gateway has seen (the roles their last token carried, with the memberships
a request of theirs would load now); everyone else holding a membership or a pending
invitation in a store, who never logged in (their roles judged as
:mod:`gateway.policies.admin.judged` says, and the report says how); one principal per
persona holding nothing else (what a newcomer of that persona would get); and every space
of every store. Reading it costs a few statements per store and page of 500: it is for
administrators' tools, never for a request path.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.errors import InvalidId
from gateway.domain.model import StoreName
from gateway.domain.permissions import Action
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.admin.judged import Judge, Record, merge
from gateway.policies.explain import Revocation
from gateway.records import Outcome
from gateway.stores.interface import NameCursor
from gateway.stores.scope import Grants, StoreScope

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gateway.domain.model import Invitation, Membership, Space
    from gateway.domain.principal import Principal
    from gateway.records import Records
    from gateway.stores.admin_rows import Holder
    from gateway.stores.interface import Store, StoreDirectory, StoreReads

# Spaces read per query (all are read, page by page).
PAGE = 500


@dataclass(frozen=True, slots=True)
class Population:
    # Known principals first, then those the stores hold who never logged in (their
    # ``Subject.judged`` says how their roles were judged), then one per persona.
    subjects: tuple[Subject, ...]
    spaces: tuple[Space, ...]


async def all_spaces(stores: Mapping[StoreName, StoreReads]) -> list[Space]:
    spaces: list[Space] = []
    for name in StoreName:
        everything = StoreScope(name, allow=Grants(everything=True))
        after: NameCursor | None = None
        while True:
            page = await stores[name].list_spaces(everything, kind=None, after=after, limit=PAGE)
            spaces.extend(page.items)
            if not page.has_next:
                break
            after = NameCursor(page.items[-1].name, page.items[-1].id)
    return spaces


class NoSuchSpace(LookupError):
    """No space answers to that id or key; the message says which."""


async def find_space(stores: Mapping[StoreName, StoreReads], value: str) -> Space:
    """A space by global id or key (``STORE/VISIBILITY/SLUG``), whoever may read it: for
    administrators' questions about it, never for a request on a caller's behalf."""
    if "/" in value:
        found = [s for s in await all_spaces(stores) if s.key == value]
        if not found:
            raise NoSuchSpace(f"no space {value!r}")
        return found[0]
    try:
        ref = ids.decode(value, "Space")
    except InvalidId as exc:
        raise NoSuchSpace(str(exc)) from None
    everything = StoreScope(ref.store, allow=Grants(everything=True))
    spaces = await stores[ref.store].spaces_by_ids([ref.native_id], everything)
    if ref.native_id not in spaces:
        raise NoSuchSpace(f"no space {value!r}")
    return spaces[ref.native_id]


async def with_memberships(
    stores: Mapping[StoreName, StoreDirectory], principal: Principal
) -> Principal:
    """The principal with the memberships (and pending invitations) both stores hold for
    its verified email, as a request of theirs would load them."""
    if not principal.verified_email:
        return principal
    found = await asyncio.gather(
        *(stores[name].memberships_for(principal.verified_email) for name in StoreName)
    )
    return principal.with_memberships(tuple(m for ms in found for m in ms))


async def all_holders(stores: Mapping[StoreName, StoreDirectory]) -> list[Holder]:
    """Everyone holding a membership or a pending invitation, store by store, page by page."""
    found: list[Holder] = []
    for name in StoreName:
        after: str | None = None
        while True:
            page = await stores[name].access_holders(after=after, limit=PAGE)
            found.extend(page.items)
            if not page.has_next:
                break
            after = page.items[-1].email
    return found


# The audited actions that revoke invitations: ``manage_members`` with the operation
# ``revokeInvitation`` (its target the invitation), and offboarding (``access_revoke``, the
# invitations it revoked in its detail).
_REVOKE_ONE, _REVOKE_ALL = Action.MANAGE_MEMBERS.value, "access_revoke"


async def revocations(
    stores: Mapping[StoreName, StoreDirectory], spaces: Sequence[Space], records: Records
) -> dict[str, list[Revocation]]:
    """Every revoked invitation, by the invitee's lower-cased email, newest first, with who
    revoked it where the audit log says (``revokeInvitation``, or an ``access_revoke``)."""
    keys = {(s.store, s.id): s.key for s in spaces}
    found: list[tuple[str, StoreName, Invitation]] = []
    for name in StoreName:
        wanted = [s.id for s in spaces if s.store is name]
        for start in range(0, len(wanted), PAGE):
            by_space = await stores[name].invitations_for_spaces(wanted[start : start + PAGE])
            for invitations in by_space.values():
                found += [(keys[(name, i.space_id)], name, i) for i in invitations if i.revoked_at]
    if not found:
        return {}
    by = await _revokers(records)
    revoked: dict[str, list[Revocation]] = {}
    for key, name, i in sorted(found, key=lambda f: f[2].revoked_at or f[2].created_at):
        at = i.revoked_at
        assert at is not None
        actor = by.get(ids.encode("Invitation", name, i.id))
        revoked.setdefault(i.email.lower(), []).insert(0, Revocation(key, i.role.value, at, actor))
    return revoked


async def revoked_in(
    stores: Mapping[StoreName, StoreDirectory],
    records: Records,
    principal: Principal,
    space: Space,
) -> list[Revocation]:
    """The principal's revoked invitations to ``space``, newest first, as who-can finds
    them: what ``explain`` says of a denial there."""
    if not principal.verified_email:
        return []
    found = await revocations(stores, [space], records)
    return found.get(principal.verified_email.lower(), [])


async def judged(
    stores: Mapping[StoreName, StoreDirectory], email: str, judge: Judge
) -> tuple[Principal, str]:
    """Someone the gateway has never seen, judged from what the stores hold of them, as
    who-can judges them (nothing held: by their email alone), and how they were judged."""
    email = email.strip().lower()
    held = merge(h for h in await all_holders(stores) if h.email == email)
    return judge.principal(held.get(email) or Record(email, email))


async def _revokers(records: Records) -> dict[str, str]:
    """Who revoked each invitation (by global id), from the audit log, page by page."""
    found: dict[str, str] = {}
    for action in (_REVOKE_ONE, _REVOKE_ALL):
        before: int | None = None
        while True:
            entries = await records.entries(
                action=action, outcome=Outcome.OK, before_id=before, limit=PAGE
            )
            for entry in entries:
                if action == _REVOKE_ONE:
                    one = entry.detail.get("operation") == "revokeInvitation"
                    targets = [entry.target] if one else []
                else:
                    targets = list(entry.detail.get("invitations_revoked", ()))
                for target in targets:
                    if target:
                        found.setdefault(str(target), entry.actor)  # newest first: the last
            if len(entries) < PAGE:
                break
            before = entries[-1].id
    return found


async def gather(
    stores: dict[StoreName, Store], records: Records, *, judge: Judge | None = None
) -> Population:
    """The population: known principals, the stores' other members and invitees (judged by
    ``judge``; without one, by what the stores record), one per persona, every space."""
    judge = judge or Judge()
    spaces = await all_spaces(stores)
    known = await records.known_principals()
    seen = {p.verified_email for p in known if p.verified_email}
    others = {e: r for e, r in merge(await all_holders(stores)).items() if e not in seen}
    emails = sorted(seen | set(others))
    held: dict[str, list[Membership]] = {}
    for start in range(0, len(emails), PAGE):
        chunk = emails[start : start + PAGE]
        for found in await asyncio.gather(*(stores[n].memberships_of(chunk) for n in StoreName)):
            for email, memberships in found.items():
                held.setdefault(email, []).extend(memberships)
    subjects = [
        Subject.known(
            p.with_memberships(tuple(held.get(p.verified_email, ()))) if p.verified_email else p
        )
        for p in known
    ]
    for email in sorted(others):
        principal, how = judge.principal(others[email])
        theirs = tuple(held.get(email, ()))
        subjects.append(Subject.never_logged_in(principal.with_memberships(theirs), how))
    revoked = await revocations(stores, spaces, records)
    if revoked:
        subjects = [
            dataclasses.replace(s, revoked=tuple(revoked[e]))
            if (e := s.principal.verified_email) in revoked
            else s
            for s in subjects
        ]
    subjects.extend(persona_subjects())
    return Population(tuple(subjects), tuple(spaces))
