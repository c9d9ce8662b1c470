"""The admin GraphQL API (``/admin/graphql``): the policy, its changes, the audit log.

It is a schema of its own on an endpoint of its own, answered only for principals the
policy lets ``administer`` the policy (``security_admin`` by default): anyone else gets
a 401 or 403 before any GraphQL runs, so not even its field names leak, and the public
schema on ``/graphql`` has none of them. Everything here goes through
:class:`gateway.policies.admin.changes.PolicyAdmin`, as the CLI and the ``/admin`` page do.

One module per topic, each with its part of the two roots: the policy's types
(:mod:`.types`), its queries (:mod:`.policy_queries`) and changes (:mod:`.policy_changes`),
the access invariants (:mod:`.invariants`),
who may do what (:mod:`.access`), sessions and offboarding (:mod:`.offboarding`), and the
audit log (:mod:`.audit`).
"""

from __future__ import annotations

import strawberry

from gateway.schema.admin.access import AccessQuery
from gateway.schema.admin.audit import AuditQuery
from gateway.schema.admin.context import AdminContext, AdminInputError
from gateway.schema.admin.invariants import InvariantMutation, InvariantQuery
from gateway.schema.admin.offboarding import OffboardingMutation, OffboardingQuery
from gateway.schema.admin.policy_changes import PolicyChangeMutation
from gateway.schema.admin.policy_queries import PolicyQuery

__all__ = ["AdminContext", "AdminInputError", "AdminMutation", "AdminQuery"]


# The roots inherit the topics' fields, which the schema lists in the order of the bases.
@strawberry.type
class AdminQuery(PolicyQuery, InvariantQuery, AccessQuery, OffboardingQuery, AuditQuery):
    pass


@strawberry.type
class AdminMutation(OffboardingMutation, PolicyChangeMutation, InvariantMutation):
    pass
