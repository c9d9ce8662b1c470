"""The policy: Casbin's model, loading and validating lines, the compiler that turns a
principal's grants into scopes, Casbin as the oracle (explain), canonical export, and where
the policy lives with its versions (``store``). Changing it safely is ``policies.admin``.
"""
