"""The Collaboration Access Gateway: one policy-scoped GraphQL API over two community stores.

One folder a concern: ``http`` (the app, the edge, the admin page), ``cli``, ``config``,
``identity`` (logins, tokens, sessions, offboarding), ``policies`` (the Casbin model,
compiler and checks; ``policies/admin`` for changing them), ``runtime`` (services and the
per-request caller), ``schema`` (GraphQL), ``writes``, ``stores`` (the store interface and
its guard), ``records`` (the gateway's own database), ``reports`` and ``domain``.
"""
