"""The write path: check the input, find the target in scope, ask the policy, write, audit.

Every mutation goes through :func:`perform`, so each write gets the same guarantees:

* nobody writes where they cannot read: the target is looked up through the
  caller's read scope, and a target outside it is refused exactly like one that
  does not exist (``NOT_FOUND``);
* the action is decided by the policy for (principal, space, action);
* an idempotency key makes a retried request return the first result instead of
  writing twice, across replicas (the keys live in the gateway's records);
* every write and every refusal is in the audit log, and no write reaches a store
  without its audit entry.

Refusals raise :class:`WriteRefused`; the GraphQL layer hands them to
:func:`audit_refusal` (one ``denied`` row naming the code) and turns them into the
payload's ``errors``; nothing is written.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from gateway.domain import ids
from gateway.domain.errors import InvalidId, StoreDown
from gateway.domain.permissions import Action, Resource
from gateway.records import (
    AuditEntry,
    IdempotencyConflict,
    Outcome,
    Replay,
    StillRunning,
)
from gateway.stores.guard import STORE_FAILURES, guarded
from gateway.stores.interface import NotSupported, TargetMissing, WriteConflict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from gateway.domain.model import Author, Space, StoreName
    from gateway.runtime.caller import Caller

    # Looks a target up by (store, native id) through the caller's read scope; None when
    # it does not exist or the caller may not read it (the GraphQL layer passes a loader's
    # ``load``, so lookups of one request are batched and cached).
    Finder = Callable[[tuple[StoreName, str]], Awaitable[Any]]

log = logging.getLogger("gateway.writes")
T = TypeVar("T")

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_NOTE = 5_000
MAX_TAGS = 5
MAX_IDEMPOTENCY_KEY = 128
TAG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
EMAIL = re.compile(r"[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
# How long a retry waits for a concurrent request holding the same key to finish.
IDEMPOTENCY_WAIT = 5.0


class ErrorCode(enum.Enum):
    INVALID = "INVALID"  # the input breaks a rule; the field says which
    NOT_FOUND = "NOT_FOUND"  # no such target, or not one you may see
    FORBIDDEN = "FORBIDDEN"  # you see it, but the policy does not let you do this
    UNAUTHENTICATED = "UNAUTHENTICATED"  # log in (with a verified email) first
    CONFLICT = "CONFLICT"  # the idempotency key was used for something else, or is busy
    UNAVAILABLE = "UNAVAILABLE"  # a store or the audit log is down; nothing was written
    RATE_LIMITED = "RATE_LIMITED"  # too many of these lately; the message says when to retry
    INVARIANT = "INVARIANT"  # it would break a declared access invariant; the message names it


@dataclass(frozen=True, slots=True)
class Problem:
    code: ErrorCode
    message: str
    field: str | None = None


class WriteRefused(Exception):
    """The write did not happen; ``problems`` say why, in words meant for the user.

    ``write`` is the write refused, once it is known (its space is in the caller's
    scope); ``detail`` adds to its audit detail; ``audited`` says its row exists already.
    """

    def __init__(
        self,
        *problems: Problem,
        write: Write | None = None,
        detail: Mapping[str, Any] | None = None,
        audited: bool = False,
    ) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.write = write
        self.detail = detail or {}
        self.audited = audited


def refuse(
    code: ErrorCode, message: str, field: str | None = None, *, write: Write | None = None
) -> WriteRefused:
    return WriteRefused(Problem(code, message, field), write=write)


# --- input checks -----------------------------------------------------------
@dataclass
class Checks:
    """Collects every problem with an input, so the user sees them all at once."""

    problems: list[Problem] = field(default_factory=list)

    def text(self, name: str, value: str, *, maximum: int, required: bool = True) -> str:
        cleaned = value.strip()
        if required and not cleaned:
            self.problems.append(Problem(ErrorCode.INVALID, f"{name} must not be empty", name))
        elif len(cleaned) > maximum:
            self.problems.append(
                Problem(
                    ErrorCode.INVALID,
                    f"{name} is {len(cleaned)} characters; at most {maximum} are allowed",
                    name,
                )
            )
        return cleaned

    def tags(self, name: str, values: list[str]) -> list[str]:
        cleaned = sorted({v.strip().lower() for v in values})
        if len(cleaned) > MAX_TAGS:
            self.problems.append(
                Problem(ErrorCode.INVALID, f"at most {MAX_TAGS} tags are allowed", name)
            )
        bad = [t for t in cleaned if not TAG.fullmatch(t)]
        if bad:
            self.problems.append(
                Problem(
                    ErrorCode.INVALID,
                    f"tags are 1-32 letters, digits or dashes: {', '.join(map(repr, bad[:3]))}",
                    name,
                )
            )
        return cleaned

    def number(self, name: str, value: int, low: int, high: int) -> int:
        if not low <= value <= high:
            self.problems.append(
                Problem(ErrorCode.INVALID, f"{name} must be {low} to {high}, not {value}", name)
            )
        return value

    def key(self, value: str | None) -> str | None:
        if value is None:
            return None
        if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY or not value.isprintable():
            self.problems.append(
                Problem(
                    ErrorCode.INVALID,
                    f"an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
                    "idempotencyKey",
                )
            )
        return value

    def email(self, name: str, value: str) -> str:
        cleaned = value.strip().lower()
        if len(cleaned) > 254 or not EMAIL.fullmatch(cleaned):
            self.problems.append(
                Problem(ErrorCode.INVALID, f"{value[:80]!r} is not an email address", name)
            )
        return cleaned

    def id(self, name: str, value: str, type_name: str) -> ids.NodeRef | None:
        try:
            return ids.decode(value, type_name)
        except InvalidId as exc:
            self.problems.append(Problem(ErrorCode.INVALID, str(exc), name))
            return None

    def done(self) -> None:
        if self.problems:
            raise WriteRefused(*self.problems)


# --- the write itself ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Write:
    """One write about to happen, as the audit log and idempotency keys see it."""

    operation: str  # the mutation's name
    action: Action
    space: Space
    arguments: Mapping[str, Any]  # the whole input, for the idempotency fingerprint
    detail: Mapping[str, Any]  # what the audit log keeps: ids and sizes, never content
    idempotency_key: str | None


def author_of(caller: Caller) -> Author:
    """The caller as an author; only a verified email can be attributed across stores."""
    author = caller.principal.as_author()
    if author is None:
        raise refuse(
            ErrorCode.UNAUTHENTICATED,
            "log in with a verified email address to write",
        )
    return author


async def target(caller: Caller, find: Finder, ref: ids.NodeRef, field: str) -> tuple[Any, Space]:
    """The object a write aims at (by ``find``, through the read scope) and its space:
    absent and hidden alike answer ``NOT_FOUND``."""
    found = await find((ref.store, ref.native_id))
    if found is None:
        caller.authorizer.note_denial("not_in_scope", ref.type_name, "write")
        raise refuse(ErrorCode.NOT_FOUND, "not found", field)
    return found, await target_space(caller, ref.store, found.space_id, field)


async def target_space(caller: Caller, store: StoreName, space_id: str, field: str) -> Space:
    """The space a target lives in, through the read scope: absent and hidden look alike."""
    found = await caller.find_space(store, space_id)
    if found is None:
        caller.authorizer.note_denial("not_in_scope", "Space", "write")
        raise refuse(ErrorCode.NOT_FOUND, "not found", field)
    return found


async def authorize(
    caller: Caller,
    write: Write,
    *,
    obj: Resource = Resource.SPACE,
    own: bool = False,
    message: str,
    field: str | None = None,
) -> None:
    """Refuse unless the policy allows the write in its space."""
    if caller.authorizer.allows(obj.value, write.space.key, write.action.value, own=own):
        return
    raise WriteRefused(
        Problem(ErrorCode.FORBIDDEN, message, field), write=write, detail={"object": obj.value}
    )


async def audit_refusal(
    caller: Caller, operation: str, action: Action, refused: WriteRefused | StoreDown
) -> WriteRefused:
    """Write the audit row of a refused write (one ``denied`` row, its code and fields in
    the detail) and return the refusal; a store found down is ``UNAVAILABLE``.

    Before the target is found in scope there is no space to name: a ``NOT_FOUND`` row then
    holds the operation, the code and the field, and nothing else, so it is the same for a
    target that does not exist and one the caller may not see. (Only admins read the audit
    log, but the row does not know the difference either: the lookup went through the
    caller's read scope, which answers both alike.) A refusal after its write's own audit
    entry (a store failing mid-write: that entry is settled ``failed``) adds no second row.
    """
    if isinstance(refused, StoreDown):
        refused = WriteRefused(Problem(ErrorCode.UNAVAILABLE, f"{refused}; nothing was written"))
    if refused.audited:
        return refused
    write = refused.write
    codes = sorted({p.code.value for p in refused.problems})
    entry = AuditEntry(
        at=caller.now,
        actor=caller.principal.id,
        issuer=caller.principal.issuer,
        action=action.value,
        outcome=Outcome.DENIED,
        store=write.space.store.value if write else None,
        space_key=write.space.key if write else None,
        target=None,
        detail={
            "operation": operation,
            "policy": caller.authorizer.index.version[:12],
            "policy_version": caller.authorizer.index.number,
            **(write.detail if write else {}),
            **refused.detail,
            "code": codes[0] if len(codes) == 1 else codes,
            "fields": sorted({p.field for p in refused.problems if p.field}),
        },
        idempotency_key=write.idempotency_key if write else None,
    )
    try:
        await caller.records.record(entry)
    except STORE_FAILURES:
        log.warning("could not audit a refused %s by %s", operation, caller.principal.id)
    return refused


async def perform(
    caller: Caller,
    write: Write,
    run: Callable[[], Awaitable[T]],
    result_id: Callable[[T], str],
) -> T | Replay:
    """Audit, then run the store write once; with a key, a retry gets a :class:`Replay`.

    ``result_id`` names what was written (its global id), for the audit log and replays.
    """
    entry = _entry(caller, write, Outcome.PENDING)
    fingerprint = _fingerprint(write)
    try:
        claimed = await caller.records.begin_write(
            entry, operation=write.operation, request_hash=fingerprint, wait=IDEMPOTENCY_WAIT
        )
    except IdempotencyConflict:
        raise refuse(
            ErrorCode.CONFLICT,
            "this idempotency key was already used for a different request",
            "idempotencyKey",
            write=write,
        ) from None
    except StillRunning:
        raise refuse(
            ErrorCode.CONFLICT,
            "a request with this idempotency key is still running; retry shortly",
            "idempotencyKey",
            write=write,
        ) from None
    except STORE_FAILURES as exc:
        log.warning("records database unavailable: %s", type(exc).__name__, exc_info=exc)
        raise refuse(
            ErrorCode.UNAVAILABLE,
            "the audit log is unavailable; nothing was written",
            write=write,
        ) from exc
    if isinstance(claimed, Replay):
        return claimed
    try:
        written = await guarded(write.space.store, run())
    except BaseException as exc:
        if isinstance(exc, StoreDown):
            problem = Problem(ErrorCode.UNAVAILABLE, f"{exc}; nothing was written")
        elif isinstance(exc, TargetMissing):
            problem = Problem(ErrorCode.NOT_FOUND, "not found")
        elif isinstance(exc, WriteConflict):
            problem = Problem(ErrorCode.CONFLICT, str(exc))
        elif isinstance(exc, NotSupported):
            problem = Problem(ErrorCode.INVALID, str(exc))
        else:
            await _settle(caller, claimed, entry, Outcome.FAILED)
            raise
        # The pending entry, settled ``failed`` with the code, is this refusal's audit row.
        await _settle(
            caller,
            claimed,
            entry,
            Outcome.FAILED,
            detail={**entry.detail, "code": problem.code.value, "fields": []},
        )
        raise WriteRefused(problem, write=write, audited=True) from exc
    for forget in caller.after_write:
        forget()
    target = result_id(written)
    await _settle(caller, claimed, entry, Outcome.OK, target=target, result={"id": target})
    return written


async def _settle(
    caller: Caller,
    audit_id: int,
    entry: AuditEntry,
    outcome: Outcome,
    *,
    target: str | None = None,
    result: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    try:
        await caller.records.settle(
            audit_id, entry, outcome, target=target, result=result, detail=detail
        )
    except (SQLAlchemyError, OSError):
        # The write itself is done (or failed) in its store; the pending audit entry stays
        # as evidence that it was attempted, and a retry with the key waits it out.
        log.exception("could not settle audit entry %s as %s", audit_id, outcome.value)


def _entry(
    caller: Caller, write: Write, outcome: Outcome, detail: Mapping[str, Any] | None = None
) -> AuditEntry:
    return AuditEntry(
        at=caller.now,
        actor=caller.principal.id,
        issuer=caller.principal.issuer,
        action=write.action.value,
        outcome=outcome,
        store=write.space.store.value,
        space_key=write.space.key,
        target=None,
        # The policy version the decision was made under.
        detail={
            "operation": write.operation,
            "policy": caller.authorizer.index.version[:12],
            "policy_version": caller.authorizer.index.number,
            **(detail or write.detail),
        },
        idempotency_key=write.idempotency_key,
    )


def _fingerprint(write: Write) -> str:
    """The same request, byte for byte in meaning, has the same fingerprint."""
    canonical = json.dumps(
        {"operation": write.operation, "arguments": write.arguments},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
