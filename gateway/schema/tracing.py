"""strawberry's OpenTelemetry spans (see gateway/runtime/tracing.py), without content.

strawberry's ``OpenTelemetryExtension`` records the whole query text on the operation's
span, and every resolver's arguments on its own. Both may carry content a trace backend
must not hold (a search text, an inline question body, an email), so this extension
records neither: the span names carry the operation's name and each field's path.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from strawberry.extensions.tracing import OpenTelemetryExtension

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from strawberry.extensions import SchemaExtension

__all__ = ["tracing_extension"]


class ContentFreeTracing(OpenTelemetryExtension):
    """strawberry's spans, minus the query text (arguments: see :func:`tracing_extension`)."""

    def on_operation(self) -> Generator[None, None, None]:
        context = self.execution_context
        # The parent starts its span, and records the query, before it yields: it is
        # given none to record, then the text is put back before anything reads it.
        query, context.query = context.query, None
        steps = super().on_operation()
        try:
            next(steps)
        finally:
            context.query = query
        yield
        with contextlib.suppress(StopIteration):
            next(steps)


def _no_arguments(_arguments: dict[str, Any], _info: Any) -> dict[str, Any]:
    return {}


def tracing_extension(provider: Any | None) -> Callable[[], SchemaExtension]:
    """A factory of the extension, its spans going to ``provider`` (None: the global one)."""
    return lambda: ContentFreeTracing(tracer_provider=provider, arg_filter=_no_arguments)
