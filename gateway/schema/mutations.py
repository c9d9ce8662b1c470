"""The mutation root: every write, grouped by what it changes."""

from __future__ import annotations

import strawberry

from gateway.schema.archive import ArchiveMutations
from gateway.schema.content_mutations import ContentMutations
from gateway.schema.escalation_mutations import EscalationMutations
from gateway.schema.flags import FlagMutations
from gateway.schema.invitation_mutations import InvitationMutations
from gateway.schema.moderation import ModerationMutations
from gateway.schema.notifications import NotificationMutations
from gateway.schema.recognition_mutations import RecognitionMutations
from gateway.schema.space_mutations import SpaceMutations


@strawberry.type(
    description="Writes. Each takes an input and returns a payload whose `errors` say why it "
    "did not happen; a refused write changes nothing. Send an idempotencyKey to retry safely."
)
class Mutation(
    ContentMutations,
    SpaceMutations,
    ModerationMutations,
    ArchiveMutations,
    FlagMutations,
    NotificationMutations,
    EscalationMutations,
    RecognitionMutations,
    InvitationMutations,
):
    """Writes. Each takes an input and returns a payload whose ``errors`` say why it did not
    happen; a refused write changes nothing."""
