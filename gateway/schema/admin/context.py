"""What every admin resolver shares: its context, and the errors it answers with."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.domain.errors import ClientError
from gateway.schema.payloads import UserError

if TYPE_CHECKING:
    import strawberry

    from gateway.domain.principal import Principal
    from gateway.runtime.services import Services
    from gateway.writes import ErrorCode

MAX_AUDIT_PAGE = 200


@dataclasses.dataclass
class AdminContext:
    services: Services
    principal: Principal

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)


def admin_context(info: strawberry.Info) -> AdminContext:
    return info.context


class AdminInputError(ClientError):
    """A bad argument: shown to the admin as it is (never masked)."""


def user_error(code: ErrorCode, message: str, field: str | None = None) -> UserError:
    return UserError(code=code, message=message, field=field)
