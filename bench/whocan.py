"""What ``gateway access-report --who`` costs: on the demo data, and on a large population.

Two measurements, printed; nothing is asserted (not a test):

* ``demo``: the demo data set on fresh SQLite files, every demo person known (each made
  one request), then what the command does: gather the population from the stores and
  the records database, decide every (principal, space) with its reason, build the rows,
  draw the HTML and the PNG. Each step is timed.
* ``synthetic``: the pure function alone on ``--principals`` x ``--spaces`` made-up
  principals (random personas, a few memberships each, some expired) and spaces, under the
  default policy; then the rows, the HTML and the PNG for it. For comparison, asking
  Casbin (one enforcer per principal, ``enforce_ex`` per space, i.e. ``Explainer``) for a
  sample of the principals, extrapolated to all.

    .venv/bin/python -m bench.whocan                                  # both, 2,000 x 300
    .venv/bin/python -m bench.whocan --principals 5000 --spaces 1000 --only synthetic
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.config import Settings
from gateway.domain.demo import PEOPLE
from gateway.domain.model import Membership, Space, SpaceKind, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import Persona
from gateway.domain.principal import Principal
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin import population
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.admin.whocan import who_can
from gateway.policies.compiler import PolicyIndex
from gateway.policies.explain import Explainer
from gateway.policies.policy import Policy
from gateway.reports import access_matrix, whocan_report

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

REPO = Path(__file__).resolve().parent.parent
VISIBILITIES = {
    StoreName.INTERNAL: (Visibility.OPEN, Visibility.RESTRICTED, Visibility.SHARED),
    StoreName.COMMUNITY: (
        Visibility.PUBLIC,
        Visibility.MEMBERS,
        Visibility.TRUSTED,
        Visibility.PRIVATE,
    ),
}


def _timed(label: str, step: Callable[[], Any], figures: list[tuple[str, float]]) -> Any:
    start = time.perf_counter()
    result = step()
    figures.append((label, time.perf_counter() - start))
    return result


async def _demo(workdir: Path) -> list[tuple[str, float]]:
    from tests.personas import run  # the demo people's requests, as the tests make them

    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(workdir / "data"),
            **{
                f"GATEWAY_{n.upper()}_URL": f"sqlite+aiosqlite:///{workdir / n}.db"
                for n in ("internal", "community", "records")
            },
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
            "GATEWAY_POLICY_FILE": str(REPO / "policies.csv"),
        }
    )
    services = build_services(settings)
    figures: list[tuple[str, float]] = []
    try:
        await prepare_stores(services)
        for person in PEOPLE:
            await run(services, person.email, "{ viewer { id } }")
        start = time.perf_counter()
        found = await population.gather(services.stores, services.records)
        figures.append(("gather population (stores, records)", time.perf_counter() - start))
    finally:
        await services.close()
    now = datetime.now(UTC)
    report = _timed(
        f"who_can ({len(found.subjects)} x {len(found.spaces)})",
        lambda: who_can(services.policy, found.subjects, found.spaces, now),
        figures,
    )
    _timed("rows + CSV", lambda: whocan_report.as_csv(whocan_report.build(report)), figures)
    _timed("HTML", lambda: access_matrix.write(report, workdir / "m.html"), figures)
    _timed(
        "PNG (with importing matplotlib)",
        lambda: access_matrix.write(report, workdir / "m.png"),
        figures,
    )
    _timed("PNG again", lambda: access_matrix.write(report, workdir / "m.png"), figures)
    return figures


def _synthetic_population(
    principals: int, spaces: int, now: datetime, seed: int
) -> tuple[list[Subject], list[Space]]:
    rng = random.Random(seed)
    made: list[Space] = []
    for i in range(spaces):
        store = StoreName.INTERNAL if i % 2 == 0 else StoreName.COMMUNITY
        visibility = rng.choice(VISIBILITIES[store])
        made.append(Space(store, str(i), f"s{i}", SpaceKind.GROUP, f"Space {i}", "", visibility))
    personas = [p.value for p in Persona]
    subjects: list[Subject] = []
    for i in range(principals):
        email = f"p{i}@{'corp' if i % 3 else 'partner'}.example"
        held = []
        for space in rng.sample(made, rng.randint(0, 5)):
            expires = rng.choice([None, now + timedelta(days=30), now - timedelta(days=1)])
            held.append(
                Membership(space.store, space.id, space.key, rng.choice(list(SpaceRole)), expires)
            )
        roles = frozenset(rng.sample(personas, rng.randint(1, 2)))
        principal = Principal("bench", email, email, True, email, roles, None, tuple(held))
        subjects.append(Subject.known(principal))
    return [*subjects, *persona_subjects()], made


def _synthetic(principals: int, spaces: int, sample: int, workdir: Path) -> list[tuple[str, float]]:
    now = datetime.now(UTC)
    index = PolicyIndex(Policy.from_file(REPO / "policies.csv"))
    subjects, made = _synthetic_population(principals, spaces, now, seed=1)
    figures: list[tuple[str, float]] = []
    report = _timed(
        f"who_can ({len(subjects)} x {len(made)} = {len(subjects) * len(made):,} pairs)",
        lambda: who_can(index, subjects, made, now),
        figures,
    )
    tracemalloc.start()  # a second run: tracing slows it down several times
    again = who_can(index, subjects, made, now)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert again.rows[-1].decisions == report.rows[-1].decisions
    rows = _timed("rows", lambda: whocan_report.build(report), figures)
    _timed(f"CSV ({len(rows):,} allowed pairs)", lambda: whocan_report.as_csv(rows), figures)
    _timed("HTML", lambda: access_matrix.write(report, workdir / "big.html"), figures)
    _timed("PNG", lambda: access_matrix.write(report, workdir / "big.png"), figures)
    figures.append((f"  (peak memory of who_can: {peak / 2**20:.0f} MiB)", float("nan")))
    html_size = (workdir / "big.html").stat().st_size
    figures.append((f"  (HTML file: {html_size / 2**20:.0f} MiB)", float("nan")))

    def casbin() -> None:
        for subject in subjects[:sample]:
            oracle = Explainer(index.policy, subject.principal, now)
            for space in made:
                oracle.explain(space.key, "space", "read")

    start = time.perf_counter()
    casbin()
    took = time.perf_counter() - start
    figures.append((f"Casbin explain, {sample} principals x {len(made)} spaces", took))
    figures.append((f"  extrapolated to {len(subjects)} principals", took * len(subjects) / sample))
    return figures


def _print(title: str, figures: list[tuple[str, float]]) -> None:
    print(title)
    width = max(len(label) for label, _ in figures)
    for label, seconds in figures:
        if seconds != seconds:  # NaN: a note, not a time
            print(f"  {label}")
        else:
            print(f"  {label:<{width}}  {seconds * 1000:>10.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principals", type=int, default=2000)
    parser.add_argument("--spaces", type=int, default=300)
    parser.add_argument("--casbin-sample", type=int, default=20)
    parser.add_argument("--only", choices=["demo", "synthetic"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only in (None, "demo"):
            _print("demo data (SQLite files):", asyncio.run(_demo(workdir)))
        if args.only in (None, "synthetic"):
            figures = _synthetic(args.principals, args.spaces, args.casbin_sample, workdir)
            _print("synthetic, pure function and rendering:", figures)


if __name__ == "__main__":
    main()
