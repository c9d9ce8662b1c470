"""Who is calling: OpenID Connect login and sessions, bearer tokens (JWT and
introspection), claims to a principal, the development issuer, and offboarding.
"""
