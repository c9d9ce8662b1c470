"""Offboarding: end one person's access now, and lift that again.

One action for the CLI (``gateway access revoke``), the admin API
(``revokePrincipalAccess``) and the admin page. In one records transaction it ends every
session of the person and records a "not before" time (their bearer tokens issued
earlier are refused: a token cannot be recalled from the provider); then it revokes
their pending invitations in every store and ends their memberships of internal spaces
(their community account's own memberships are the public forum's, not the gateway's to
end). Every revoke and restore is audited, refusals included, with what it ended.

The principal is the verified email (``user:EMAIL``), the key memberships bind by.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.domain import ids
from gateway.domain.model import InvitationStatus, StoreName
from gateway.domain.permissions import USER_PREFIX
from gateway.identity.session_store import SessionStore
from gateway.records import AuditEntry, Outcome
from gateway.stores.guard import STORE_FAILURES
from gateway.stores.interface import NotSupported, TargetMissing

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.records import Records
    from gateway.stores.interface import Store

log = logging.getLogger("gateway.admin")

REVOKE = "access_revoke"
RESTORE = "access_restore"
MAX_REASON = 500


class OffboardingRefused(Exception):
    """Nothing was changed; the message says why: an unknown person (``unknown``, or
    nothing to restore), or input that is not an email address."""

    def __init__(self, message: str, *, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


@dataclass(frozen=True, slots=True)
class Revoked:
    principal: str
    not_before: datetime
    sessions: int
    invitations: tuple[str, ...]  # global ids of the invitations revoked
    memberships: tuple[str, ...]  # keys of the internal spaces left
    failures: tuple[str, ...] = ()  # what could not be done (a store down): run it again

    def as_detail(self) -> dict[str, Any]:
        return {
            "not_before": self.not_before.isoformat(),
            "sessions_ended": self.sessions,
            "invitations_revoked": list(self.invitations),
            "memberships_ended": list(self.memberships),
            "failures": list(self.failures),
        }


def principal_key(value: str) -> str:
    """``user:EMAIL`` for an email (with or without the prefix), lower-cased like every
    verified email the gateway keys by; OffboardingRefused for anything else."""
    email = value.strip().removeprefix(USER_PREFIX).strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() or c in "#/" for c in email):
        raise OffboardingRefused(f"{value!r} is not an email address (user:EMAIL or EMAIL)")
    return f"{USER_PREFIX}{email}"


@dataclass
class Offboarding:
    """The revoke and restore actions over the stores and the records database."""

    stores: dict[StoreName, Store]
    records: Records
    sessions: SessionStore = field(init=False)
    idle_timeout: int = 8 * 3600

    def __post_init__(self) -> None:
        self.sessions = SessionStore(self.records, idle_timeout=self.idle_timeout)

    async def revoke(
        self,
        who: str,
        *,
        actor: str,
        issuer: str | None = None,
        reason: str | None,
        now: datetime,
    ) -> Revoked:
        """End ``who``'s sessions, tokens, pending invitations and internal memberships."""
        reason = _reason(reason)
        try:
            principal = principal_key(who)
        except OffboardingRefused as exc:
            await self._refused(REVOKE, who, actor, issuer, reason, str(exc), now)
            raise
        email = principal.removeprefix(USER_PREFIX)
        memberships = await self._memberships(email)
        if not await self._known(principal, memberships, now):
            down = [n.value for n in self.stores if n not in memberships]
            message = (
                f"the gateway knows nobody as {principal}: no login, session, membership or "
                "invitation; nothing changed"
            )
            if down:
                message += f" (the {', '.join(down)} store could not be asked: try again)"
            await self._refused(REVOKE, principal, actor, issuer, reason, message, now)
            raise OffboardingRefused(message, unknown=True)
        await self.records.ensure_schema()
        ended = await self.sessions.revoke(principal, now, actor=actor, reason=reason)
        invitations: list[str] = []
        left: list[str] = []
        failures: list[str] = []
        for name, store in self.stores.items():
            held = memberships.get(name)
            if held is None:
                failures.append(f"{name.value} store unreachable: its access is unchanged")
                continue
            try:
                invitations += await _revoke_invitations(store, email, held, now)
                if name is StoreName.INTERNAL:
                    left += await _leave(store, email, held)
            except STORE_FAILURES as exc:
                log.warning("offboarding %s: %s store failed: %s", principal, name.value, exc)
                failures.append(f"{name.value} store failed part way: run the revoke again")
        result = Revoked(principal, now, ended, tuple(invitations), tuple(left), tuple(failures))
        await self.records.record(
            _entry(
                REVOKE,
                principal,
                actor,
                issuer,
                Outcome.FAILED if failures else Outcome.OK,
                {"reason": reason, **result.as_detail()},
                now,
            )
        )
        log.warning("access of %s revoked by %s: %s", principal, actor, result.as_detail())
        return result

    async def restore(
        self, who: str, *, actor: str, issuer: str | None = None, reason: str | None, now: datetime
    ) -> datetime:
        """Lift ``who``'s revocation (their older tokens work again); returns the "not
        before" that was lifted. Ended sessions, invitations and memberships stay ended."""
        reason = _reason(reason)
        try:
            principal = principal_key(who)
        except OffboardingRefused as exc:
            await self._refused(RESTORE, who, actor, issuer, reason, str(exc), now)
            raise
        standing = await self.sessions.revocation(principal)
        if standing is None or not await self.sessions.restore(principal):
            message = f"{principal} has no revoked access to restore; nothing changed"
            await self._refused(RESTORE, principal, actor, issuer, reason, message, now)
            raise OffboardingRefused(message, unknown=True)
        detail = {"reason": reason, "lifted_not_before": standing.not_before.isoformat()}
        await self.records.record(
            _entry(RESTORE, principal, actor, issuer, Outcome.OK, detail, now)
        )
        log.warning("access of %s restored by %s", principal, actor)
        return standing.not_before

    async def _memberships(self, email: str) -> dict[StoreName, list[Any]]:
        """Each reachable store's memberships (pending invitations included) of ``email``."""
        found: dict[StoreName, list[Any]] = {}
        for name, store in self.stores.items():
            try:
                found[name] = await store.memberships_for(email)
            except STORE_FAILURES as exc:
                log.warning("offboarding: %s store unreachable: %s", name.value, exc)
        return found

    async def _known(
        self, principal: str, memberships: dict[StoreName, list[Any]], now: datetime
    ) -> bool:
        if any(memberships.values()):
            return True
        if await self.records.known_principal(principal) is not None:
            return True
        return bool(await self.sessions.live(now, principal))

    async def _refused(
        self,
        action: str,
        target: str,
        actor: str,
        issuer: str | None,
        reason: str | None,
        why: str,
        now: datetime,
    ) -> None:
        detail = {"reason": reason, "refused": why}
        await self.records.record(
            _entry(action, target[:300], actor, issuer, Outcome.DENIED, detail, now)
        )


async def _revoke_invitations(
    store: Store, email: str, held: list[Any], now: datetime
) -> list[str]:
    spaces = sorted({m.space_id for m in held if m.pending})
    if not spaces:
        return []
    revoked = []
    for invitations in (await store.invitations_for_spaces(spaces)).values():
        for invitation in invitations:
            if invitation.email.strip().lower() != email:
                continue
            if invitation.status(now) is not InvitationStatus.PENDING:
                continue
            try:
                done = await store.revoke_invitation(invitation.id, now)
            except (TargetMissing, NotSupported):
                continue  # gone meanwhile
            revoked.append(ids.encode("Invitation", done.store, done.id))
    return revoked


async def _leave(store: Store, email: str, held: list[Any]) -> list[str]:
    person = (await store.people_by_emails([email])).get(email)
    if person is None:
        return []
    left = []
    for membership in held:
        if not membership.pending and await store.remove_member(membership.space_id, person.id):
            left.append(membership.space_key)
    return sorted(set(left))


def _reason(reason: str | None) -> str | None:
    reason = (reason or "").strip()
    return reason[:MAX_REASON] or None


def _entry(
    action: str,
    target: str,
    actor: str,
    issuer: str | None,
    outcome: Outcome,
    detail: dict[str, Any],
    now: datetime,
) -> AuditEntry:
    return AuditEntry(
        at=now,
        actor=actor,
        issuer=issuer,
        action=action,
        outcome=outcome,
        store=None,
        space_key=None,
        target=target,
        detail=detail,
    )
