"""bench.run's flatness verdicts: a run is compared with earlier runs that differ from it in
one dimension only (posts, or spaces), never with one that differs in both."""

from __future__ import annotations

from typing import Any

from bench.run import Cell, verdicts


def _seed(spaces: int, posts: int) -> dict[str, Any]:
    return {"spaces": spaces, "posts": posts, "backend": "sqlite"}


def _result(spaces: int, posts: int, p50: float) -> dict[str, Any]:
    return {
        "seed": _seed(spaces, posts),
        "cells": [{"mode": "real", "persona": "guest", "p50_ms": p50}],
    }


def _flat_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "flat" in line]


def test_runs_differing_in_one_dimension_are_compared_in_it() -> None:
    cells = [Cell("real", "guest", latencies_ms=[12.0])]
    others = {
        "small": _result(10_000, 10_000, 10.0),  # fewer posts, same spaces
        "spaces100": _result(100, 1_000_000, 8.0),  # fewer spaces, same posts
        "tiny": _result(40, 600, 1.0),  # both differ: no question of flatness
    }
    lines = _flat_lines(verdicts("large", _seed(10_000, 1_000_000), cells, others))
    assert len(lines) == 2, lines
    posts = next(line for line in lines if "over posts" in line)
    assert "(10,000 -> 1,000,000), large/small" in posts
    assert posts.endswith(" 1.20  met")
    spaces = next(line for line in lines if "over spaces" in line)
    assert "(100 -> 10,000), large/spaces100" in spaces
    assert spaces.endswith(" 1.50  MISSED")


def test_the_smaller_run_can_be_the_one_just_made() -> None:
    cells = [Cell("real", "guest", latencies_ms=[8.0])]
    lines = _flat_lines(
        verdicts(
            "spaces100", _seed(100, 1_000_000), cells, {"large": _result(10_000, 1_000_000, 9.0)}
        )
    )
    assert len(lines) == 1 and "large/spaces100" in lines[0] and lines[0].endswith("met")


def test_a_floor_slower_than_the_gateway_is_no_floor() -> None:
    """A floor whose SQL the planner walked badly once made (a)/(d) read 0.12, "met"."""
    cells = [
        Cell("real", "guest", latencies_ms=[12.0]),
        Cell("raw", "guest", latencies_ms=[6.0]),
        Cell("real", "employee", latencies_ms=[14.0]),
        Cell("raw", "employee", latencies_ms=[120.0]),
    ]
    lines = [
        line for line in verdicts("large", _seed(10_000, 1_000_000), cells, {}) if "(d)" in line
    ]
    guest = next(line for line in lines if "guest" in line)
    employee = next(line for line in lines if "employee" in line)
    assert guest.endswith(" 2.00  MISSED"), guest
    assert "0.12  NO FLOOR" in employee, employee
