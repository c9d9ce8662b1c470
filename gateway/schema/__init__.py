"""The GraphQL schema, hardened with strawberry's own extensions.

``gateway.schema:schema`` is the public schema built from the default settings, for tools
that import a schema object (``strawberry export-schema gateway.schema:schema``). It is
built on first use, not on import; building it opens nothing (no store, no database), and
its SDL does not depend on the settings (they set only limits and introspection).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from gateway.runtime.tracing import tracer_provider
from gateway.schema.admin import AdminMutation, AdminQuery
from gateway.schema.executor import LeanExecutor
from gateway.schema.extensions import (
    MaskInternalErrors,
    NameErrorCodes,
    NamePolicyVersion,
    RejectEmptySelections,
    ReportPartialFailures,
)
from gateway.schema.handling import Schema
from gateway.schema.limits import query_cost, query_limits
from gateway.schema.mutations import Mutation
from gateway.schema.notifications import Subscription
from gateway.schema.operation_name import RequireOperationName
from gateway.schema.query import Query
from gateway.schema.types import Answer, Feedback, Person, Prototype, Question, Space

if TYPE_CHECKING:
    from collections.abc import Callable

    from graphql.validation import ASTValidationRule
    from strawberry.extensions import SchemaExtension

    from gateway.config import Settings

__all__ = ["build_admin_schema", "build_schema", "schema"]

_default: strawberry.Schema | None = None


def __getattr__(name: str) -> strawberry.Schema:
    """``schema``: the public schema with the default settings, built once when first asked
    for (importing this package builds nothing)."""
    global _default
    if name != "schema":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _default is None:
        from gateway.config import Settings

        # The defaults, not the environment: the same schema wherever it is exported.
        _default = build_schema(Settings.load(environ={}))
    return _default


def _rfc3339(value: datetime) -> str:
    # The gateway's times are UTC; one without a zone would break the scalar's contract.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


# strawberry's DateTime, saying what it is where client code generators look: a description
# and @specifiedBy. The stores hand out UTC times (gateway/stores/sql.py), so every value
# carries its offset.
DATE_TIME = dataclasses.replace(
    DateTimeDefinition,
    description="A point in time: an RFC 3339 date-time with its UTC offset, "
    "e.g. 2026-05-01T09:30:00+00:00.",
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
    serialize=_rfc3339,
)
SCALARS: dict[object, ScalarDefinition] = {datetime: DATE_TIME}


def build_schema(settings: Settings) -> strawberry.Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Space, Question, Answer, Prototype, Feedback, Person],
        extensions=_extensions(settings),
        execution_context_class=LeanExecutor,
        scalar_overrides=SCALARS,
    )


def build_admin_schema(settings: Settings) -> strawberry.Schema:
    """The admin API's own schema (/admin/graphql): none of it is in the public one."""
    return Schema(
        query=AdminQuery,
        mutation=AdminMutation,
        extensions=_extensions(settings),
        execution_context_class=LeanExecutor,
        scalar_overrides=SCALARS,
    )


def _extensions(settings: Settings) -> list:
    # The limiters' rule classes are built once: strawberry's validation cache is keyed by
    # the rule classes, and a limiter made per request would make every lookup a miss.
    # Ours replace strawberry's depth and alias limiters, whose walks are exponential in
    # fragment fan-out (gateway/schema/limits.py).
    limits: list[type[ASTValidationRule]] = [
        query_limits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_expanded_fields=settings.max_expanded_fields,
        )
    ]
    if not settings.introspection:
        limits.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [
        RejectEmptySelections,
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        # After the cache: it adds to the validation errors the cache's hook has set.
        RequireOperationName,
        # After both: it costs only valid documents, with the request's variables.
        query_cost(
            max_cost=settings.max_cost,
            max_cost_by_persona=settings.max_cost_by_persona,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        ),
        ReportPartialFailures,
        NamePolicyVersion,
        # Masked errors carry INTERNAL_SERVER_ERROR; NameErrorCodes codes every other one.
        NameErrorCodes,
        MaskInternalErrors,
        *_tracing(settings),
    ]
    return extensions


def _tracing(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """strawberry's own OpenTelemetry spans (gateway/runtime/tracing.py), when on."""
    if not settings.tracing_enabled:
        return []
    # Imported only when on: it needs the otel extra.
    from gateway.schema.tracing import tracing_extension

    return [tracing_extension(tracer_provider(settings))]
