"""The HTTP front door: the starlette app and its wiring, the edge (body limits,
GraphQL over HTTP, graceful shutdown), health and readiness, and the ``/admin`` page with its
templates and static files.
"""
