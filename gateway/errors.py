"""Errors whose message is meant for the client; every other error is masked."""

from __future__ import annotations


class ClientError(Exception):
    """An error the caller can act on; its message reaches the client unmasked."""


class InvalidId(ClientError):
    def __init__(self, value: str, expected: str | None = None) -> None:
        what = f"a {expected} id" if expected else "a valid id"
        super().__init__(f"invalid id {value[:80]!r}: not {what}")


class InvalidCursor(ClientError):
    def __init__(self, value: str) -> None:
        super().__init__(f"invalid cursor {value[:80]!r}")


class InvalidArgument(ClientError):
    pass


class StoreDown(ClientError):
    """One store could not answer; the other store's data is still served."""

    def __init__(self, store: str) -> None:
        self.store = store
        super().__init__(f"the {store} store is unavailable")
