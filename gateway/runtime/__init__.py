"""The runtime: what the gateway builds once at start-up (:mod:`.services`) and, from it,
the caller of each request (:mod:`.caller`). Every front door (HTTP, websocket, the CLI,
the benchmarks) starts here; nothing here knows GraphQL or HTTP.
"""
