"""The store interface's roles: each method in exactly one, and Store is all of them."""

from __future__ import annotations

import inspect

from gateway.stores import interface
from gateway.stores.interface import (
    DemoLoading,
    Store,
    StoreArchive,
    StoreDirectory,
    StoreLifecycle,
    StoreReads,
    StoreReports,
    StoreRole,
    StoreWrites,
)

ROLES = (
    StoreLifecycle,
    DemoLoading,
    StoreDirectory,
    StoreReads,
    StoreWrites,
    StoreReports,
    StoreArchive,
)


def _methods(role: type) -> set[str]:
    return {n for n, v in vars(role).items() if inspect.iscoroutinefunction(v)}


def test_every_method_is_in_exactly_one_role() -> None:
    seen: dict[str, str] = {}
    for role in ROLES:
        for method in _methods(role):
            assert method not in seen, f"{method} in {seen.get(method)} and {role.__name__}"
            seen[method] = role.__name__
    assert _methods(Store) == set()  # Store adds nothing of its own
    every = {n for n in dir(Store) if inspect.iscoroutinefunction(getattr(Store, n))}
    assert every == set(seen)


def test_store_is_the_union_of_its_roles() -> None:
    # Protocols with data members refuse issubclass(); their MRO says what they extend.
    assert {*ROLES, StoreRole} <= set(Store.__mro__)
    roles = {v for v in vars(interface).values() if StoreRole in getattr(v, "__mro__", ())}
    assert roles == {*ROLES, StoreRole, Store}
