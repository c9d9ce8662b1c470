"""What the admin page's forms and query strings send, read defensively: anything missing,
oversized or of the wrong kind reads as empty (or as no number)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.datastructures import FormData

MAX_BOX_LINES = 1000
MAX_REASON = 500  # what the version history keeps


@dataclass(frozen=True, slots=True)
class Edit:
    """What the edit and rollback forms send."""

    add_text: str = ""
    remove_text: str = ""
    reason: str = ""
    rollback_to: int | None = None

    @property
    def add(self) -> list[str]:
        return self.add_text.splitlines()[:MAX_BOX_LINES]

    @property
    def remove(self) -> list[str]:
        return self.remove_text.splitlines()[:MAX_BOX_LINES]

    @classmethod
    def of(cls, form: FormData | None) -> Edit:
        def text(name: str) -> str:
            value = form.get(name, "") if form else ""
            return value if isinstance(value, str) else ""

        return cls(
            add_text=text("add"),
            remove_text=text("remove"),
            reason=" ".join(text("reason").split())[:MAX_REASON],
            rollback_to=form_number(text("rollback_to")),
        )


def form_text(form: FormData | None, name: str) -> str:
    value = form.get(name) if form else None
    return value.strip()[:MAX_REASON] if isinstance(value, str) else ""


def form_number(value: object) -> int | None:
    """A version or entry number from a form or query (None: absent, or not one: a database
    would refuse a number past its integers)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None
