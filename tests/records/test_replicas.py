"""Two gateway processes on one PostgreSQL: a policy change applied through one is enforced
by the other without a restart, by notification, and still when the channel drops."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.config import REPO_POLICY, Settings
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin.reload import PolicyReloader
from gateway.policies.export import digest
from gateway.policies.policy import Policy
from gateway.policies.store import DatabaseSource, PolicyStore, VersionKind
from gateway.records import NOTIFICATIONS_CHANNEL, Notification, Records
from gateway.records.listen import APPLICATION_NAME, Listener
from tests.databases import factory_for
from tests.replicas import APPLY, admin, bearer, replica, space_names, wait_until

if TYPE_CHECKING:
    from pathlib import Path

GRANT = "p, partner, internal/open/*, space, read, allow"
# Far longer than the test waits: only the notification (or, while the channel is down,
# the fallback polling) can bring a change over in time.
SAFETY_POLL = "300"
ARRIVAL_TIMEOUT = 15.0


async def test_a_change_through_one_replica_is_enforced_by_the_other(tmp_path: Path) -> None:
    databases = await factory_for("postgresql", tmp_path)
    try:
        env = {
            "GATEWAY_INTERNAL_URL": await databases.create("internal"),
            "GATEWAY_COMMUNITY_URL": await databases.create("community"),
            "GATEWAY_RECORDS_URL": await databases.create("records"),
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_POLICY_FILE": str(tmp_path / "seed.csv"),
            "GATEWAY_POLICY_STORE": "database",
            "GATEWAY_POLICY_SAFETY_POLL_SECONDS": SAFETY_POLL,
            "GATEWAY_DEMO_DATA": "true",
            "GATEWAY_DEV_ISSUER": "true",
            "GATEWAY_ORGANISATION_DOMAINS": "corp.example",
        }
        shutil.copy(REPO_POLICY, tmp_path / "seed.csv")
        (tmp_path / "data").mkdir()
        await asyncio.to_thread(_two_replicas, env, tmp_path, env["GATEWAY_RECORDS_URL"])
    finally:
        await databases.drop_all()


def _two_replicas(env: dict[str, str], tmp_path: Path, records_url: str) -> None:
    data = tmp_path / "data"
    # One after the other: the first creates the schemas, the demo data and the issuer key.
    with (
        replica("a", env, tmp_path) as a,
        replica("b", env, tmp_path) as b,
        httpx.Client(timeout=10) as client,
    ):
        sam, paula = bearer(data, "sam@corp.example"), bearer(data, "paula@partner.example")
        assert "Engineering" not in space_names(client, b, paula)

        applied = admin(client, a, sam, APPLY, add=[GRANT], remove=[], v=1)
        assert applied["applyPolicyChange"]["errors"] == [], applied
        took = wait_until(lambda: "Engineering" in space_names(client, b, paula), ARRIVAL_TIMEOUT)
        assert took is not None, f"replica b never enforced the change:\n{b.output()}"
        print(f"\nreplica b enforced version 2 {took * 1000:.0f} ms after a applied it")
        ready = client.get(f"{b.url}/readyz").json()["checks"]["policy"]
        assert ready.startswith("version v2 ")

        # The notification channel drops (the server ends the listeners' sessions): the
        # replicas poll meanwhile and reconnect, and a change still comes over.
        terminated = asyncio.run(_end_listeners(records_url))
        assert terminated >= 2
        applied = admin(client, a, sam, APPLY, add=[], remove=[GRANT], v=2)
        assert applied["applyPolicyChange"]["errors"] == [], applied
        took = wait_until(
            lambda: "Engineering" not in space_names(client, b, paula), ARRIVAL_TIMEOUT
        )
        assert took is not None, f"replica b missed the change while deaf:\n{b.output()}"
        print(f"with the channel dropped, replica b enforced version 3 after {took * 1000:.0f} ms")
        assert "notification channel" in b.output()  # it noticed, and said so


async def _end_listeners(records_url: str) -> int:
    engine = create_async_engine(records_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
            return len(rows.all())
    finally:
        await engine.dispose()


async def test_while_the_channel_is_down_a_replica_polls(tmp_path: Path) -> None:
    """A listener that cannot connect leaves the reloader polling: a version committed by
    another replica (here, another store on the same database) is in force soon anyway."""
    settings = Settings.load(
        environ={
            "GATEWAY_DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_INTERNAL_URL": f"sqlite+aiosqlite:///{tmp_path / 'internal.db'}",
            "GATEWAY_COMMUNITY_URL": f"sqlite+aiosqlite:///{tmp_path / 'community.db'}",
            "GATEWAY_RECORDS_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
            "GATEWAY_POLICY_STORE": "database",
        }
    )
    services = build_services(settings)
    await prepare_stores(services)
    deaf = Listener("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    reloader = PolicyReloader(
        services, services.records.known_principals, services.policy_store, deaf, safety_poll=300
    )
    tasks = [asyncio.create_task(deaf.run()), asyncio.create_task(reloader.run())]
    other = Records(settings.records_url)
    try:
        elsewhere = PolicyStore(other.engine, DatabaseSource())
        base = await elsewhere.latest()
        changed = Policy.parse(base.text + GRANT + "\n", source="elsewhere")
        await elsewhere.commit(
            changed, expected=1, actor="user:sam@corp.example", kind=VersionKind.APPLY
        )
        for _ in range(100):
            if services.policy.number == 2:
                break
            await asyncio.sleep(0.05)
        assert deaf.connected is False
        assert services.policy.number == 2
        assert services.policy.version == digest(changed)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await other.close()
        await services.close()


async def test_notifications_are_announced_to_every_replica(tmp_path: Path) -> None:
    """A notification written by one replica wakes the other's subscribers of its recipient
    (they would otherwise find it by polling within a second)."""
    databases = await factory_for("postgresql", tmp_path)
    records = Records(await databases.create("records"))
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = Listener(str(records.engine.url.render_as_string(hide_password=False)))
    listener.channels[NOTIFICATIONS_CHANNEL] = heard.put_nowait
    task = asyncio.create_task(listener.run())
    try:
        await records.create_schema()
        for _ in range(100):
            if listener.connected:
                break
            await asyncio.sleep(0.05)
        assert listener.connected
        now = datetime.now(UTC)
        await records.notify(
            [
                Notification(
                    0, f"user:{who}", "mention", "user:erin@corp.example", "Erin", "Q", "S", now
                )
                for who in ("hana@corp.example", "sam@corp.example", "hana@corp.example")
            ]
        )
        got = {await asyncio.wait_for(heard.get(), 5), await asyncio.wait_for(heard.get(), 5)}
        assert got == {"user:hana@corp.example", "user:sam@corp.example"}
        assert heard.empty()  # one announcement per recipient, not per notification
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await records.close()
        await databases.drop_all()
