"""What the gateway asks of a store, and how: the store interface (role protocols),
the guard that bounds every call (deadlines, circuit breakers), cross-store federation and
cursors, the compiled scope value adapters turn into SQL, and the SQL plumbing shared by
every database the gateway opens.
"""
