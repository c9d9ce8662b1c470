"""gateway access-report: externals in internal spaces, with sponsor, expiry, last activity."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.config import Settings
from gateway.domain.model import StoreName
from gateway.http.app import build_services, prepare_stores
from gateway.reports import access_report
from tests.personas import run
from tests.schema.test_invitations import INVITE, NOW, newcomer, sees
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import ASK_QUESTION, space_ids

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from gateway.runtime.services import Services


async def _report(services: Services, *, externals_only: bool, at: datetime) -> list[dict]:
    rows = await access_report.build(
        services.stores,
        services.records,
        store_names=[StoreName.INTERNAL],
        space_ids=None,
        externals_only=externals_only,
        organisation_domains=services.settings.organisation_domains,
        now=at,
    )
    return [{c: getattr(r, c) for c in access_report.COLUMNS} for r in rows]


@pytest.mark.backend
async def test_externals_with_sponsor_expiry_and_last_activity(services: Services) -> None:
    spaces = await space_ids(services)
    expires = NOW + timedelta(days=30)
    made = await run(
        services,
        "erin@corp.example",
        INVITE,
        {
            "i": {
                "spaceId": spaces[AURORA],
                "email": "nina@partner.example",
                "role": "GUEST",
                "expiresAt": expires.isoformat(),
            }
        },
        now=NOW,
    )
    assert made.data["inviteToSpace"]["errors"] == []
    pending = await _report(services, externals_only=True, at=NOW)
    nina = [r for r in pending if r["email"] == "nina@partner.example"]
    assert [(r["status"], r["sponsor"], r["last_activity"]) for r in nina] == [
        ("invited", "erin@corp.example", "")
    ]
    # She arrives, asks a question: a member now, with her latest activity.
    await sees(services, newcomer(), NOW)
    asked_at = NOW + timedelta(hours=1)
    await run(
        services,
        "",
        ASK_QUESTION,
        {"i": {"spaceId": spaces[AURORA], "title": "Hi", "body": "First!"}},
        now=asked_at,
        principal=newcomer(),
    )
    rows = await _report(services, externals_only=True, at=asked_at)
    assert {r["email"] for r in rows} == {
        "nina@partner.example",
        "paula@partner.example",
        "tara@customer.example",
    }
    nina = next(r for r in rows if r["email"] == "nina@partner.example")
    assert nina["space"] == AURORA
    assert nina["role"] == "space_guest"
    assert nina["status"] == "active"
    assert nina["sponsor"] == "erin@corp.example"
    assert nina["expires"] == expires.strftime("%Y-%m-%d %H:%M UTC")
    assert nina["last_activity"] == asked_at.strftime("%Y-%m-%d %H:%M UTC")
    # Demo guests came in through erin's invitations too.
    assert {r["sponsor"] for r in rows} == {"erin@corp.example"}
    # Past the expiry the row stays, marked expired: the report is for reviewing access.
    later = await _report(services, externals_only=True, at=expires)
    assert next(r for r in later if r["email"] == "nina@partner.example")["status"] == "expired"
    # Without --externals, staff members are listed as well.
    everyone = await _report(services, externals_only=False, at=asked_at)
    assert "omar@corp.example" in {r["email"] for r in everyone}


def test_the_command_prints_a_table_and_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / ".gateway"))
    monkeypatch.setenv("GATEWAY_DEMO_DATA", "true")
    for name in ("INTERNAL", "COMMUNITY", "RECORDS"):
        monkeypatch.setenv(f"GATEWAY_{name}_URL", f"sqlite+aiosqlite:///{tmp_path / name}.db")
    monkeypatch.setenv("GATEWAY_ORGANISATION_DOMAINS", "corp.example")

    # The demo is loaded by the server's start-up; do the same here, then report.
    async def prepare() -> None:
        built = build_services(Settings.load())
        await prepare_stores(built)
        await built.close()

    asyncio.run(prepare())
    assert main(["access-report", "--externals"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["SPACE", "PERSON", "EMAIL"]
    assert "paula@partner.example" in table and "omar@corp.example" not in table
    assert main(["access-report", "--externals", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["email"] for r in rows} == {"paula@partner.example", "tara@customer.example"}
    assert all(r["status"] == "active" and r["sponsor"] == "erin@corp.example" for r in rows)
    assert main(["access-report", "--space", "not-an-id"]) == 2
    assert "not a Space id" in capsys.readouterr().err
