"""Opaque pagination cursors, and the one order in which lists span both stores.

Questions run newest first across stores: ``created_at DESC``, then store name,
then the store's own id order. Spaces run by store, then name, then id. A position
bounds a list on either side: ``after`` it (paging forward) or ``before`` it (backward).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import StoreName
from gateway.stores.interface import AtTime, NameCursor, TimeCursor

STORE_ORDER: tuple[StoreName, ...] = tuple(sorted(StoreName, key=lambda s: s.value))


def _encode(payload: dict[str, str]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(value: str, keys: set[str]) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor(value) from None
    if not isinstance(payload, dict) or set(payload) != keys:
        raise InvalidCursor(value)
    if not all(isinstance(v, str) for v in payload.values()):
        raise InvalidCursor(value)
    return payload


@dataclass(frozen=True, slots=True)
class TimePosition:
    """Where a newest-first list across stores stopped."""

    created_at: datetime
    store: StoreName
    id: str

    def encode(self) -> str:
        # Every edge of every list carries one: the JSON _encode would write (keys sorted,
        # no spaces), written directly. The id is escaped as JSON; the store's name and
        # the ISO time need no escaping.
        at, store = self.created_at.isoformat(), self.store.value
        raw = f'{{"i":{json.dumps(self.id)},"s":"{store}","t":"{at}"}}'
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> TimePosition:
        payload = _decode(value, {"t", "s", "i"})
        try:
            created_at = datetime.fromisoformat(payload["t"])
            store = StoreName(payload["s"])
        except ValueError:
            raise InvalidCursor(value) from None
        if created_at.tzinfo is None:
            raise InvalidCursor(value)
        return cls(created_at, store, payload["i"])

    def for_store(self, store: StoreName) -> TimeCursor:
        """This position inside one store: what "after" it, and "before" it, mean there."""
        if store == self.store:
            return TimeCursor(self.created_at, AtTime.BELOW_ID, self.id)
        if STORE_ORDER.index(store) > STORE_ORDER.index(self.store):
            return TimeCursor(self.created_at, AtTime.ALL)
        return TimeCursor(self.created_at, AtTime.NONE)


@dataclass(frozen=True, slots=True)
class NamePosition:
    """Where a by-store, by-name list of spaces stopped."""

    store: StoreName
    name: str
    id: str

    def encode(self) -> str:
        return _encode({"s": self.store.value, "n": self.name, "i": self.id})

    @classmethod
    def decode(cls, value: str) -> NamePosition:
        payload = _decode(value, {"s", "n", "i"})
        try:
            return cls(StoreName(payload["s"]), payload["n"], payload["i"])
        except ValueError:
            raise InvalidCursor(value) from None

    def for_store(self, store: StoreName) -> NameCursor | bool | None:
        """A cursor inside ``store``; True: the whole store comes after; False: none of it."""
        if store == self.store:
            return NameCursor(self.name, self.id)
        return STORE_ORDER.index(store) > STORE_ORDER.index(self.store)

    def before_in(self, store: StoreName) -> NameCursor | bool:
        """A cursor inside ``store`` for "before this position"; True: the whole store comes
        before; False: none of it."""
        if store == self.store:
            return NameCursor(self.name, self.id)
        return STORE_ORDER.index(store) < STORE_ORDER.index(self.store)


@dataclass(frozen=True, slots=True)
class SequencePosition:
    """Where a list of the gateway's own records (notifications, by row number) stopped."""

    number: int

    def encode(self) -> str:
        return _encode({"n": str(self.number)})

    @classmethod
    def decode(cls, value: str) -> SequencePosition:
        number = _decode(value, {"n"})["n"]
        # ASCII digits only ('¹' is a digit to str.isdigit), and no more than a row id can
        # have (a larger number overflows the database's integer).
        if not (number.isascii() and number.isdigit() and len(number) <= 18):
            raise InvalidCursor(value)
        return cls(int(number))
