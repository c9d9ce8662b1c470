"""Global ids: base64 of ``Type:store:native-id``, so every id names its store."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.relay import GlobalID, GlobalIDValueError

from gateway.domain.errors import InvalidId
from gateway.domain.model import StoreName


@dataclass(frozen=True, slots=True)
class NodeRef:
    type_name: str
    store: StoreName
    native_id: str


def node_id(store: StoreName, native_id: str) -> str:
    """The part of a global id after the type name."""
    return f"{store.value}:{native_id}"


def decode(value: str, expected: str | None = None) -> NodeRef:
    """Decode a global id, or raise :class:`InvalidId` (never a traceback)."""
    try:
        gid = GlobalID.from_id(value)
        store_name, native = gid.node_id.split(":", 1)
        store = StoreName(store_name)
    except (GlobalIDValueError, ValueError, UnicodeDecodeError):
        raise InvalidId(value, expected) from None
    if not native or (expected is not None and gid.type_name != expected):
        raise InvalidId(value, expected)
    return NodeRef(gid.type_name, store, native)


def encode(type_name: str, store: StoreName, native_id: str) -> str:
    return str(GlobalID(type_name, node_id(store, native_id)))
