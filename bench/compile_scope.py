"""What compiling a caller's scope costs per request, fresh and reused, by memberships.

Every request needs the caller's read scope and, for writes, a scope per write action.
Compiled fresh, that costs time in proportion to the caller's memberships (Casbin's
``key_match`` per membership and rule); reused from the policy index's cache
(:class:`gateway.policies.compiler.CompiledCache`), only the key is built and looked up.
This prints both per membership count, under the repository's ``policies.csv``::

    python -m bench.compile_scope
    python -m bench.compile_scope --memberships 0,100,540 --rounds 200

Columns: memberships, microseconds per request fresh, microseconds reused, and the reuse
count the cache reports (it should be every round after the first).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from gateway.config import REPO_POLICY
from gateway.domain.model import Membership, SpaceRole, StoreName, Visibility
from gateway.domain.permissions import WRITE_ACTIONS
from gateway.identity.dev_issuer import dev_principal
from gateway.policies.compiler import Authorizer, PolicyIndex
from gateway.policies.policy import Policy

HEADER = f"{'memberships':>12}{'fresh us':>10}{'reused us':>11}{'reused':>8}"


def _request(authorizer: Authorizer) -> None:
    """What a request compiles: the read scope and every write action's scope."""
    authorizer.read_scope()
    for action in WRITE_ACTIONS:
        authorizer.scope(action.value)


def measure(count: int, rounds: int, now: datetime) -> tuple[float, float, int]:
    """Microseconds per request, fresh and reused, and how many rounds were reused."""
    index = PolicyIndex(Policy.from_file(REPO_POLICY))
    held = tuple(
        Membership(
            StoreName.INTERNAL,
            str(i),
            f"internal/{Visibility.RESTRICTED.value}/space-{i}",
            SpaceRole.MEMBER if i % 3 else SpaceRole.OWNER,
            now + timedelta(days=30) if i % 2 else None,
        )
        for i in range(count)
    )
    erin = dev_principal("erin@corp.example", name="Erin", roles=("employee",))
    principal = erin.with_memberships(held)
    timings = []
    for cached in (False, True):
        _request(Authorizer(index, principal, now, cached=cached))  # warm (fills the cache)
        hits = index.compiled.hits
        start = time.perf_counter()
        for _ in range(rounds):
            _request(Authorizer(index, principal, now, cached=cached))
        timings.append((time.perf_counter() - start) / rounds * 1e6)
    return timings[0], timings[1], index.compiled.hits - hits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memberships", default="0,10,50,200,1000", help="counts, by commas")
    parser.add_argument("--rounds", type=int, default=100, help="requests per measurement")
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    print(HEADER)
    for count in (int(c) for c in args.memberships.split(",")):
        fresh, reused, hits = measure(count, args.rounds, now)
        print(f"{count:>12}{fresh:>10.0f}{reused:>11.0f}{hits:>8}")


if __name__ == "__main__":
    main()
