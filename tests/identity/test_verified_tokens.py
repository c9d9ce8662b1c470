"""A verified bearer token is remembered by its digest: checked once, judged again when its
entry ends (``VERIFIED_FOR`` seconds, never past ``exp``) or a key set is fetched again.

Real development-issuer tokens through the real backend; the verifier is wrapped only to
count the signature checks it makes.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from starlette.authentication import AuthenticationError
from starlette.requests import Request

from gateway.identity.backends import VERIFIED_FOR, BearerBackend, LocalVerifier
from gateway.identity.dev_issuer import DevIssuer

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.domain.principal import Principal
    from tests.identity.conftest import FakeClock


class Counting:
    """The development issuer's verifier, counting its checks; its key set can "change"."""

    def __init__(self, issuer: DevIssuer) -> None:
        self.inner = LocalVerifier(issuer)
        self.checks = 0
        self.generation = 0

    async def verify(self, token: str) -> Principal | None:
        self.checks += 1
        return await self.inner.verify(token)


def request(token: str) -> Request:
    return Request({"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]})


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer.open(tmp_path)


@pytest.fixture
def verifier(issuer: DevIssuer) -> Counting:
    return Counting(issuer)


@pytest.fixture
def backend(verifier: Counting, clock: FakeClock) -> BearerBackend:
    return BearerBackend([verifier], clock=clock)


def token(issuer: DevIssuer, email: str = "erin@corp.example", **kwargs: float) -> str:
    return issuer.issue(email=email, name="Erin", roles=["employee"], **kwargs)  # type: ignore[arg-type]


async def test_the_same_token_is_checked_once_however_often_and_concurrently_it_comes(
    backend: BearerBackend, verifier: Counting, issuer: DevIssuer
) -> None:
    erin = token(issuer)
    answers = await asyncio.gather(*(backend.authenticate(request(erin)) for _ in range(20)))
    answers += [await backend.authenticate(request(erin)) for _ in range(20)]
    assert {a[1].email for a in answers if a is not None} == {"erin@corp.example"}
    assert verifier.checks == 1
    # Another token (another person) is its own entry.
    await backend.authenticate(request(token(issuer, "hana@corp.example")))
    assert verifier.checks == 2


async def test_a_remembered_token_is_judged_again_after_verified_for_seconds(
    backend: BearerBackend, verifier: Counting, issuer: DevIssuer, clock: FakeClock
) -> None:
    erin = token(issuer)
    await backend.authenticate(request(erin))
    clock.advance(VERIFIED_FOR - 1)
    await backend.authenticate(request(erin))
    assert verifier.checks == 1
    clock.advance(2)
    await backend.authenticate(request(erin))
    assert verifier.checks == 2


async def test_a_token_is_never_remembered_past_its_exp(
    backend: BearerBackend, verifier: Counting, issuer: DevIssuer, clock: FakeClock
) -> None:
    # Expires in 5 s: remembered for 5 s, not VERIFIED_FOR.
    short = token(issuer, lifetime=5, now=time.time())
    await backend.authenticate(request(short))
    clock.advance(6)
    await backend.authenticate(request(short))  # within the issuer's leeway: still valid
    assert verifier.checks == 2


async def test_a_key_set_fetched_again_makes_every_remembered_token_judged_afresh(
    backend: BearerBackend, verifier: Counting, issuer: DevIssuer
) -> None:
    erin = token(issuer)
    await backend.authenticate(request(erin))
    verifier.generation += 1
    await backend.authenticate(request(erin))
    assert verifier.checks == 2
    await backend.authenticate(request(erin))
    assert verifier.checks == 2


async def test_a_refused_token_is_not_remembered(
    backend: BearerBackend, verifier: Counting, issuer: DevIssuer
) -> None:
    expired = token(issuer, lifetime=1, now=time.time() - 3600)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="expired"):
            await backend.authenticate(request(expired))
    assert verifier.checks == 2
