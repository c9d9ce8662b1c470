"""strawberry's extension hooks, with the work that is the same for every request done once.

For each of its four stages (operation, parse, validate, execute) strawberry's runner asks
every extension of the request whether it has that stage's hook: ``inspect`` tells a
generator from an async generator, and ``contextlib.contextmanager`` wraps a fresh bound
method (``functools.wraps`` included) for each one found. The gateway's schemas have a
dozen extensions, so every request paid for about fifty such look-ups and a dozen wraps
before and after its own work. The answer depends only on the extension's class, so it is
worked out once per class and hook here: a request then only binds the class's wrapped
hook to its own extension instance.

Everything else is strawberry's own (``ExtensionContextManagerBase``): the hooks run in the
same order, in the same exit stack, with the same handling of exceptions, and a hook that is
a plain function (not a generator) still goes through strawberry's ``from_callable``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from typing import TYPE_CHECKING, Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

if TYPE_CHECKING:
    from collections.abc import Callable

_Wrapped = tuple["Callable[..., Any]", bool]
# A class whose hook strawberry wraps in its own way: a plain function, or something that
# is not callable at all (strawberry's error).
_STRAWBERRY = object()


# Bounded: classes made on the fly (tests build schemas by the hundred) must not pile up.
@functools.lru_cache(maxsize=4096)
def _wrapped(hook_name: str, cls: type) -> _Wrapped | object | None:
    """The class's wrapped hook for a stage and whether it is async; None when the class has
    no hook of its own for that stage; _STRAWBERRY for strawberry to wrap."""
    hook_fn = getattr(cls, hook_name)
    if hook_fn is getattr(SchemaExtension, hook_name):
        return None
    if inspect.isgeneratorfunction(hook_fn):
        return (contextlib.contextmanager(hook_fn), False)
    if inspect.isasyncgenfunction(hook_fn):
        return (contextlib.asynccontextmanager(hook_fn), True)
    return _STRAWBERRY


class _LeanHooks(ExtensionContextManagerBase):
    """strawberry's context manager for one stage, its hooks found by class."""

    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        cls: type = type(extension)
        found = _wrapped(self.HOOK_NAME, cls)
        if found is None:
            return None
        if not isinstance(found, tuple):  # _STRAWBERRY
            return super().get_hook(extension)
        wrapped, is_async = found
        return WrappedHook(
            extension=extension, hook=functools.partial(wrapped, extension), is_async=is_async
        )


class _Operation(_LeanHooks, OperationContextManager):
    __slots__ = ()


class _Validation(_LeanHooks, ValidationContextManager):
    __slots__ = ()


class _Parsing(_LeanHooks, ParsingContextManager):
    __slots__ = ()


class _Executing(_LeanHooks, ExecutingContextManager):
    __slots__ = ()


class LeanExtensionsRunner(SchemaExtensionsRunner):
    """strawberry's runner with the four stages' hooks found by class (see the module)."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
