"""How long previewing a policy change takes as the gateway knows more principals.

A change is previewed (``simulatePolicyChange``, ``gateway policy apply``, the /admin
preview) over everyone the gateway has seen, with their memberships, and every space.
This seeds the demo on SQLite, then records more and more known partners and times a
preview of one added line (which turns a decision for every partner): without invariants,
with the shipped ones (``policy-invariants.csv``), and the invariant check on its own.

    python -m bench.policy_change [--principals 100,1000,3000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from gateway.config import REPO_POLICY, Settings
from gateway.config.settings import INVARIANTS_NAME
from gateway.domain.principal import Principal
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin import population
from gateway.policies.admin.changes import PolicyAdmin

GRANT = "p, partner, internal/open/*, space, read, allow"


async def run(sizes: list[int]) -> None:
    work = Path(tempfile.mkdtemp(prefix="gw-policy-change-"))
    try:
        shutil.copy(REPO_POLICY, work / "policies.csv")
        shutil.copy(REPO_POLICY.with_name(INVARIANTS_NAME), work / INVARIANTS_NAME)
        settings = Settings.load(
            environ={
                "GATEWAY_DATA_DIR": str(work / "data"),
                "GATEWAY_POLICY_FILE": str(work / "policies.csv"),
            }
        )
        settings.data_dir.mkdir(parents=True)
        services = build_services(settings)
        await prepare_stores(services)
        now = datetime.now(UTC)
        seen = 0
        try:
            for size in sizes:
                while seen < size:
                    email = f"p{seen}@partner.example"
                    partner = Principal("bench", email, email, True, email, frozenset({"partner"}))
                    await services.records.remember(partner, now)
                    seen += 1
                guarded = services.policy_admin
                bare = PolicyAdmin(
                    services.policy_store, services.stores, services.records, services._install
                )
                start = time.perf_counter()
                proposal = await bare.propose_edit([GRANT], [])
                without = (time.perf_counter() - start) * 1000
                start = time.perf_counter()
                checked = await guarded.propose_edit([GRANT], [])
                took = (time.perf_counter() - start) * 1000
                assert checked.acceptable, checked.refusals
                found = await population.gather(services.stores, services.records)
                base = (await guarded.latest()).policy()
                assert checked.policy is not None
                start = time.perf_counter()
                await guarded.breaks(base, checked.policy, found, now)
                check = (time.perf_counter() - start) * 1000
                turns = len(proposal.impact.turns) if proposal.impact else 0
                print(
                    f"{size:>6} known principals: preview {without:7.0f} ms without "
                    f"invariants, {took:7.0f} ms with the shipped ones; the invariant check "
                    f"alone {check:6.0f} ms ({turns} decisions turn)"
                )
        finally:
            await services.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--principals", default="100,1000,3000")
    args = parser.parse_args()
    asyncio.run(run(sorted(int(x) for x in args.principals.split(","))))


if __name__ == "__main__":
    main()
