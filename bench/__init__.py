"""The read-path benchmark: seed large stores, serve the gateway four ways, measure.

A script, not a test: ``python -m bench.seed``, ``python -m bench.run`` (see README.md).
"""
