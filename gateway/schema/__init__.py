"""The GraphQL schema, hardened with strawberry's own extensions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from gateway.schema.extensions import (
    RejectEmptySelections,
    ReportPartialFailures,
    is_client_error,
)
from gateway.schema.query import Query
from gateway.schema.types import Answer, Feedback, Person, Prototype, Question, Space

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["build_schema"]


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list = [
        RejectEmptySelections,
        lambda: QueryDepthLimiter(max_depth=settings.max_depth),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        ReportPartialFailures,
        lambda: MaskErrors(should_mask_error=lambda e: not is_client_error(e)),
    ]
    if not settings.introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(
        query=Query,
        types=[Space, Question, Answer, Prototype, Feedback, Person],
        extensions=extensions,
    )
