"""The CSRF token of a session: made once, accepted only from that session."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.identity import csrf


def test_one_token_per_session() -> None:
    session: dict[str, Any] = {}
    token = csrf.issue(session)
    assert len(token) >= 40 and csrf.issue(session) == token
    assert csrf.valid(session, token)
    assert csrf.issue({}) != token


@pytest.mark.parametrize("presented", [None, "", "x", "é" * 43, b"bytes", 7])
def test_anything_else_is_refused(presented: object) -> None:
    session: dict[str, Any] = {}
    csrf.issue(session)
    assert not csrf.valid(session, presented)


def test_a_session_without_a_token_accepts_none() -> None:
    assert not csrf.valid({}, "")
    assert not csrf.valid({csrf.SESSION_KEY: ""}, "")
    other: dict[str, Any] = {}
    assert not csrf.valid({}, csrf.issue(other))
