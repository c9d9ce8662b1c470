"""The demo personas as principals, and a way to run GraphQL as one of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.cli import demo_principal
from gateway.schema import build_schema
from gateway.schema.context import build_context

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.principal import Principal
    from gateway.runtime.services import Services

PERSONAS = (
    "guest",
    "mo@customer.example",
    "tara@customer.example",
    "paula@partner.example",
    "carl@contractor.example",
    "erin@corp.example",
    "hana@corp.example",
    "sam@corp.example",
    "mia@corp.example",
)

_schemas: dict[int, Any] = {}


async def run(
    services: Services,
    who: str,
    query: str,
    variables: dict[str, Any] | None = None,
    now: datetime | None = None,
    principal: Principal | None = None,
) -> Any:
    """Execute ``query`` as persona ``who`` (or as ``principal``) through the real schema
    and context."""
    schema = _schemas.get(id(services.settings))
    if schema is None:
        schema = _schemas[id(services.settings)] = build_schema(services.settings)
    context = await build_context(services, principal or demo_principal(who, ()), now=now)
    return await schema.execute(query, variable_values=variables, context_value=context)
