"""The HTTP front door: the starlette app and its wiring, the edge (body limits,
GraphQL over HTTP, graceful shutdown, CORS), health and readiness, GraphiQL from the gateway's
own files, and the ``/admin`` page with its templates and static files.
"""
