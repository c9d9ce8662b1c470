"""What a store's methods raise besides the driver's own errors (see gateway.stores.interface)."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The store could not be reached or answered with an error; the message names it."""


class TargetMissing(Exception):
    """A write's target (space, question, answer, prototype) is not (or no longer) there."""


class WriteConflict(Exception):
    """The write contradicts the store's state (e.g. inviting someone already a member);
    the message says how, for the user."""


class NotSupported(Exception):
    """The store has no such thing natively (e.g. the forum has no prototypes); the
    message says what, for the user."""
