"""The domain, below everything else: its types, the principal, global ids, errors,
the names a policy may use (actions, objects, personas) and the demo data set.
"""
