"""Changing the policy safely: propose, check, apply and roll back (``changes``), the
impact over the real population, who can access what, lines as administrators read and edit
them, and hot reload on every replica.
"""
