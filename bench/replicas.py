"""How long a policy change takes to reach another replica.

Two ``gateway serve`` processes share one PostgreSQL (stores, records, and the policy in
the database). Each round applies a change through replica A's admin API and times how
long until a partner's request to replica B is answered under it (the request itself
included). Rounds alternate granting and revoking one line, so every round is a real
change. With ``--deaf`` the replicas' notification listeners are ended before each
round: the figures are then the fallback (polling and reconnecting).

    python -m bench.replicas [--rounds 30] [--deaf] [--plot FILE.png]

Needs PostgreSQL at GATEWAY_TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import UNLIMITED
from gateway.config import REPO_POLICY
from gateway.records.listen import APPLICATION_NAME
from tests.databases import SERVER_URLS
from tests.replicas import APPLY, admin, bearer, replica, space_names, wait_until

GRANT = "p, partner, internal/open/*, space, read, allow"


async def _execute(url: str, *statements: str, autocommit: bool = False) -> None:
    level = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = create_async_engine(url, **level)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


END_LISTENERS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    f"WHERE application_name = '{APPLICATION_NAME}' AND datname = current_database()"
)


def run(rounds: int, deaf: bool, plot: str | None) -> None:
    admin_url = SERVER_URLS["postgresql"]
    tag = uuid.uuid4().hex[:8]
    names = [f"gw_bench_{kind}_{tag}" for kind in ("internal", "community", "records")]
    asyncio.run(_execute(admin_url, *(f'CREATE DATABASE "{n}"' for n in names), autocommit=True))
    base = admin_url.rsplit("/", 1)[0]
    urls = {name: f"{base}/{name}" for name in names}
    work = Path(tempfile.mkdtemp(prefix="gw-replicas-"))
    try:
        shutil.copy(REPO_POLICY, work / "seed.csv")
        (work / "data").mkdir()
        env = {
            "GATEWAY_INTERNAL_URL": urls[names[0]],
            "GATEWAY_COMMUNITY_URL": urls[names[1]],
            "GATEWAY_RECORDS_URL": urls[names[2]],
            "GATEWAY_DATA_DIR": str(work / "data"),
            "GATEWAY_POLICY_FILE": str(work / "seed.csv"),
            "GATEWAY_POLICY_STORE": "database",
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
            **UNLIMITED,
        }
        with (
            replica("a", env, work) as a,
            replica("b", env, work) as b,
            httpx.Client(timeout=10) as client,
        ):
            sam = bearer(work / "data", "sam@corp.example")
            paula = bearer(work / "data", "paula@partner.example")
            space_names(client, b, paula)  # paula is known from now on
            times = []
            for n in range(rounds):
                granting = n % 2 == 0
                if deaf:
                    asyncio.run(_execute(urls[names[2]], END_LISTENERS))
                edit = (
                    {"add": [GRANT], "remove": []} if granting else {"add": [], "remove": [GRANT]}
                )
                result = admin(client, a, sam, APPLY, v=n + 1, **edit)["applyPolicyChange"]
                assert not result["errors"], result
                took = wait_until(
                    lambda g=granting: ("Engineering" in space_names(client, b, paula)) is g,
                    timeout=30,
                    step=0.005,
                )
                assert took is not None, "replica b never enforced the change"
                times.append(took * 1000)
    finally:
        drops = (f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names)
        asyncio.run(_execute(admin_url, *drops, autocommit=True))
        shutil.rmtree(work, ignore_errors=True)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    mode = "channel ended before each change (fallback)" if deaf else "notification channel up"
    print(f"policy change reaching replica b, {rounds} changes, {mode}:")
    print(
        f"  p50 {statistics.median(times):.0f} ms, p99 {p99:.0f} ms, "
        f"min {times[0]:.0f} ms, max {times[-1]:.0f} ms"
    )
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(times, bins=20)
        ax.set_xlabel("ms from apply on A to enforced on B")
        ax.set_ylabel("changes")
        ax.set_title(mode)
        fig.tight_layout()
        fig.savefig(plot)
        print(f"  plot written to {plot}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--deaf", action="store_true", help="end the listeners before each change")
    parser.add_argument("--plot", metavar="FILE.png")
    args = parser.parse_args()
    run(args.rounds, args.deaf, args.plot)


if __name__ == "__main__":
    main()
