"""Persisted and trusted documents, in front of GraphQL execution.

* **Automatic persisted queries** (Apollo's protocol): a request whose
  ``extensions.persistedQuery`` is ``{"version": 1, "sha256Hash": HASH}`` may leave out
  the query. A hash the gateway does not know answers ``PERSISTED_QUERY_NOT_FOUND``; the
  client then sends the query with its hash, which registers it (in the records
  database: every replica knows it from then on). A hash that is not the query's
  SHA-256 is refused.
* **Trusted documents**: callers holding only personas listed in
  ``graphql.trusted_documents_only`` may run only the documents an operator registered
  (``gateway documents add``), sent by hash or in full; anything else answers
  ``PERSISTED_QUERY_NOT_ALLOWED``, naming nothing of the schema; over HTTP and over the
  GraphQL websocket alike (:class:`TrustedOnlyOverWebsocket`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from graphql.error import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import ExecutionResult

from gateway.domain.errors import ErrorCode
from gateway.records.documents import Document, sha256_of
from gateway.schema.context import Context
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from strawberry.http import GraphQLRequestData

    from gateway.runtime.services import Services

__all__ = ["PersistedDocuments", "TrustedOnlyOverWebsocket", "restricted_to_trusted"]

log = logging.getLogger("gateway.documents")
HASH = re.compile(r"[0-9a-f]{64}")
# How long a looked-up document is taken as known (its body never changes under its hash;
# whether it is trusted can, when an operator removes it).
KNOWN_FOR = 5.0
KNOWN_MAX = 10_000


def restricted_to_trusted(services: Services, context: Context) -> bool:
    """Whether this caller may run trusted documents only: every persona they hold is one
    of ``graphql.trusted_documents_only`` (a guest holds ``guest``)."""
    listed = services.settings.trusted_documents_only
    if not listed:
        return False
    principal = context.caller.principal  # not context.principal: no answer depends on it
    held = set(principal.roles) if principal.roles else {"guest"}
    return held <= listed


def _refusal(message: str, code: ErrorCode) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code.value})]
    )


class TrustedOnlyOverWebsocket(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with the trusted-documents limit: an operation a limited caller
    may not run is answered with an ``error`` message, and never runs."""

    async def run_operation(self, operation: Any) -> None:
        context, view = self.context, self.view
        if isinstance(context, Context) and restricted_to_trusted(view.services, context):  # type: ignore[attr-defined]
            query = operation.query
            found = await view._document(sha256_of(query)) if isinstance(query, str) else None  # type: ignore[attr-defined]
            if found is None or not found.trusted:
                error = GraphQLError(
                    _NOT_ALLOWED, extensions={"code": ErrorCode.PERSISTED_QUERY_NOT_ALLOWED.value}
                )
                await operation.send_initial_errors([error])  # forgets the operation too
                return
        await super().run_operation(operation)


class PersistedDocuments:
    """Mixed into the public GraphQL view (before the response cache in its bases)."""

    services: Services
    _known: dict[str, tuple[Document, float]]
    graphql_transport_ws_handler_class: type[BaseGraphQLTransportWSHandler[Any, Any]] = (
        TrustedOnlyOverWebsocket
    )

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET with a persisted query's hash and no query is a query, not a browser
        asking for GraphiQL."""
        if request.query_params.get("extensions"):
            return False
        return bool(super().should_render_graphql_ide(request))  # type: ignore[misc]

    async def execute_single(  # strawberry's signature
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        view = super()

        async def run(data: GraphQLRequestData) -> ExecutionResult:
            return await view.execute_single(  # type: ignore[attr-defined]
                request, request_adapter, sub_response, context, root_value, data
            )

        if not isinstance(context, Context):
            return await run(request_data)
        settings = self.services.settings
        extensions = request_data.extensions if isinstance(request_data.extensions, dict) else {}
        persisted = extensions.get("persistedQuery")
        restricted = restricted_to_trusted(self.services, context)
        query = request_data.query
        if persisted is None and not restricted:
            return await run(request_data)
        wanted: str | None = None
        if persisted is not None:
            if not settings.persisted_queries and not restricted:
                return _refusal(
                    "persisted queries are off here", ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED
                )
            wanted = _hash_of(persisted)
            if wanted is None:
                return _refusal(
                    "extensions.persistedQuery must be "
                    '{"version": 1, "sha256Hash": "<64 lower-case hex digits>"}',
                    ErrorCode.BAD_REQUEST,
                )
        if query is None:
            if wanted is None:
                return await run(request_data)  # no query and no hash: GraphQL says so
            found = await self._document(wanted)
            if found is None:
                return _refusal("PersistedQueryNotFound", ErrorCode.PERSISTED_QUERY_NOT_FOUND)
            if restricted and not found.trusted:
                return _refusal(_NOT_ALLOWED, ErrorCode.PERSISTED_QUERY_NOT_ALLOWED)
            return await run(dataclasses.replace(request_data, query=found.body))
        actual = sha256_of(query)
        if wanted is not None and wanted != actual:
            return _refusal(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
                ErrorCode.BAD_REQUEST,
            )
        if restricted:
            found = await self._document(actual)
            if found is None or not found.trusted:
                return _refusal(_NOT_ALLOWED, ErrorCode.PERSISTED_QUERY_NOT_ALLOWED)
        elif wanted is not None and await self._document(actual) is None:
            await self._register(query, context)
        return await run(request_data)

    async def _document(self, sha256: str) -> Document | None:
        known = self.__dict__.setdefault("_known", {})
        found = known.get(sha256)
        now = time.monotonic()
        if found is not None and now - found[1] < KNOWN_FOR:
            return found[0]
        try:
            document = await self.services.records.document(sha256)
        except STORE_FAILURES as exc:  # the client sends the full query next; that runs
            log.warning("persisted documents unreadable: %s", type(exc).__name__)
            return None
        if document is not None:
            if len(known) >= KNOWN_MAX:
                known.clear()
            known[sha256] = (document, now)
        else:
            known.pop(sha256, None)
        return document

    async def _register(self, query: str, context: Context) -> None:
        try:
            await self.services.records.register_document(
                query,
                trusted=False,
                name=None,
                by=context.caller.principal.id,
                now=context.caller.now,
            )
        except STORE_FAILURES as exc:  # it runs anyway; the next hash-only request misses
            log.warning("could not register a persisted query: %s", type(exc).__name__)


_NOT_ALLOWED = "only operations registered for this app may be run"


def _hash_of(persisted: object) -> str | None:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        return None
    value = persisted.get("sha256Hash")
    return value if isinstance(value, str) and HASH.fullmatch(value) else None
