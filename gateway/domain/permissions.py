"""Every name a policy line may use: actions, objects and roles, as named data.

These are exactly what the Casbin ``obj`` / ``act`` columns and the subject
column of ``policies.csv`` contain. Each enum is alphabetised.
"""

from __future__ import annotations

import enum

from gateway.domain.model import SpaceRole


class Action(enum.StrEnum):
    """What a principal does to a space (or, for ``invite``, which role it hands out)."""

    ACCEPT = "accept"  # mark an answer as the accepted one
    # Change the policy, read the audit log, ask who can access what: the admin API and
    # page. Asked of the object ``policy`` in domain ``*`` (ADMIN_DOMAIN), never of a space.
    ADMINISTER = "administer"
    ANSWER = "answer"
    ASK = "ask"
    CREATE_SPACE = "create_space"
    # Carry a community question into an internal space (asked of the question's space; the
    # internal topic it creates also needs ``ask`` in the space it goes to).
    ESCALATE = "escalate"
    GIVE_FEEDBACK = "give_feedback"
    INVITE = "invite"
    JOIN = "join"  # be given a role in a space (checked for the invitee of an invitation)
    MANAGE_MEMBERS = "manage_members"  # remove members, revoke invitations
    MODERATE = "moderate"  # hide and feature posts, see hidden ones
    READ = "read"


# Every write also needs ``read`` on the same space: nobody writes where they cannot read.
WRITE_ACTIONS: frozenset[Action] = frozenset(Action) - {
    Action.READ,
    Action.JOIN,
    Action.ADMINISTER,
}
# The writes whose target is found through the read scope: all but creating a space, which
# does not exist yet. Granting one of these where the subject cannot read grants nothing.
NEEDS_READ: frozenset[Action] = WRITE_ACTIONS - {Action.CREATE_SPACE}


def membership_resource(role: SpaceRole) -> Resource:
    """The policy object of an invitation that hands out ``role``."""
    return Resource(f"Membership.{role.value}")


class Resource(enum.StrEnum):
    """Policy objects: a space itself, or one guarded field of a type."""

    FEEDBACK_INTERNAL_NOTE = "Feedback.internalNote"
    # The role an invitation hands out (actions invite and join).
    MEMBERSHIP_GUEST = "Membership.space_guest"
    MEMBERSHIP_MEMBER = "Membership.space_member"
    MEMBERSHIP_OWNER = "Membership.space_owner"
    PERSON = "Person"
    PERSON_DEPARTMENT = "Person.department"
    PERSON_EMAIL = "Person.email"
    POLICY = "policy"  # the gateway's policy itself (action administer)
    SPACE = "space"


class Persona(enum.StrEnum):
    """Roles an identity brings with it (from its token), valid in every space."""

    COMMUNITY_MANAGER = "community_manager"
    CONTRACTOR = "contractor"
    EMPLOYEE = "employee"
    GUEST = "guest"
    MEMBER = "member"
    MODERATOR = "moderator"
    PARTNER = "partner"
    SECURITY_ADMIN = "security_admin"
    TRUSTED_CUSTOMER = "trusted_customer"


# A role a principal holds towards what is their own: their profile ("see your own
# email") and what they wrote ("accept an answer to your own question").
SELF = "self"
# The invitee of an invitation whose email is outside the organisation's domains (who
# they will log in as is not known yet): ``p, external, DOMAIN, Membership.ROLE, join``.
EXTERNAL = "external"
# Policy subjects naming one principal rather than a role: ``user:erin@corp.example``.
USER_PREFIX = "user:"
# The domain the ``administer`` question is asked in: the gateway as a whole.
ADMIN_DOMAIN = "*"
# The domain of person-level checks: ``people/internal``, ``people/community``.
PEOPLE = "people"

KNOWN_ROLES: frozenset[str] = frozenset(
    {*(p.value for p in Persona), *(r.value for r in SpaceRole), SELF, EXTERNAL}
)
