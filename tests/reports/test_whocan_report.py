"""gateway access-report --who: who may read each space and why, on the demo data in every
store backend, and the command as an administrator runs it."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gateway.cli import main
from gateway.config import Settings
from gateway.domain.model import SpaceRole
from gateway.domain.permissions import Action
from gateway.http.app import build_services, prepare_stores
from gateway.policies.admin import population
from gateway.policies.admin.whocan import Verdict, who_can
from gateway.reports import whocan_report
from gateway.reports.whocan_report import By
from tests.personas import run
from tests.policies.test_whocan import assert_agrees_with_explain
from tests.reports.test_access_matrix import PNG_MAGIC, png_size
from tests.schema.test_invitations import CREATE, NEWCOMER, NOW, invite, newcomer, sees
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.policies.admin.whocan import Decision, WhoCan
    from gateway.runtime.services import Services

HOSTILE = "<script>alert('x')</script>"
POLICY_FILE = Path(__file__).parents[2] / "policies.csv"


def _decision(report: WhoCan, who: str, space_name: str) -> Decision:
    row = next(r for r in report.rows if r.subject.name == who)
    return row.decisions[[s.name for s in report.spaces].index(space_name)]


def _line(services: Services, text: str) -> int:
    return next(r.line for r in services.policy.policy.rules if str(r) == text)


@pytest.mark.backend
async def test_who_can_read_the_demo_spaces_and_why(services: Services) -> None:
    spaces = await space_ids(services)
    made = await invite(services, "erin@corp.example", spaces[AURORA])
    assert made["errors"] == []
    await sees(services, newcomer(), NOW)  # she arrives: the invitation binds
    for who in ("carl@contractor.example", "erin@corp.example", "paula@partner.example"):
        await run(services, who, "{ viewer { id } }", now=NOW)
    found = await population.gather(services.stores, services.records)
    assert [s.name for s in found.subjects][:5] == [
        "user:carl@contractor.example",
        "user:erin@corp.example",
        "user:hana@corp.example",  # space_ids() asked as erin and hana
        f"user:{NEWCOMER}",
        "user:paula@partner.example",
    ]
    report = who_can(services.policy, found.subjects, found.spaces, NOW)

    # A persona grant.
    contractor = _decision(report, "persona:contractor", "Engineering")
    assert contractor.verdict is Verdict.ALLOWED
    assert contractor.rule is not None
    assert contractor.rule.line == _line(
        services, "p, contractor, internal/open/*, space, read, allow"
    )
    # The invited partner reads the shared space through her guest membership, until it ends.
    nina = _decision(report, f"user:{NEWCOMER}", AURORA)
    assert nina.verdict is Verdict.MEMBERSHIP
    assert nina.rule is not None
    assert nina.rule.line == _line(
        services, "p, space_guest, internal/shared/*, space, read, allow"
    )
    assert nina.via is not None
    assert nina.via.role is SpaceRole.GUEST
    assert nina.via.expires_at == NOW + timedelta(days=30)
    # The contractor is kept out of restricted spaces by the deny line.
    deny = _line(services, "p, contractor, internal/restricted/*, space, read, deny")
    for name in ("HR private", "Project Falcon"):
        carl = _decision(report, "user:carl@contractor.example", name)
        assert not carl.allowed
        assert carl.rule is not None and carl.rule.line == deny
    # Once her membership has expired, nothing grants it.
    later = who_can(services.policy, found.subjects, found.spaces, NOW + timedelta(days=30))
    gone = _decision(later, f"user:{NEWCOMER}", AURORA)
    assert (gone.allowed, gone.rule, gone.via) == (False, None, None)
    # ... and the reason says it ended, not "default deny".
    expiry = NOW + timedelta(days=30)
    assert gone.ended == (
        f"membership as space_guest in internal/shared/aurora-feedback expired on {expiry:%Y-%m-%d}"
    )
    assert "default deny" not in gone.why("policies.csv")

    # Every decision of the report is the compiled one, with the line explain() names.
    for action in (Action.READ, Action.ASK):
        assert_agrees_with_explain(
            services.policy, list(found.subjects), list(found.spaces), action, NOW
        )

    # The rows: allowed pairs only, each with its line and membership.
    rows = whocan_report.build(report)
    mine = [r for r in rows if r.principal == f"user:{NEWCOMER}"]
    assert {(r.space, r.via_role) for r in mine} == {
        (AURORA, "space_guest"),
        ("Ideas", ""),
        ("Product support", ""),
    }
    aurora = next(r for r in mine if r.space == AURORA)
    assert aurora.allowed_by == (
        f"policies.csv:{nina.rule.line}: p, space_guest, internal/shared/*, space, read, allow"
    )
    assert aurora.via_expires == f"{NOW + timedelta(days=30):%Y-%m-%d %H:%M UTC}"
    assert aurora.policy_version == services.policy.version[:12]
    assert aurora.space_id == spaces[AURORA]
    parsed = list(csv.DictReader(io.StringIO(whocan_report.as_csv(rows))))
    assert len(parsed) == len(rows)
    assert tuple(parsed[0]) == whocan_report.COLUMNS
    assert not any(
        r.principal == "user:carl@contractor.example" for r in rows if r.space == "HR private"
    )

    # --externals: the principals outside corp.example, personas left out.
    externals = whocan_report.choose_subjects(
        found.subjects, By.ALL, externals_only=True, organisation_domains=["corp.example"]
    )
    assert [s.name for s in externals] == [
        "user:carl@contractor.example",
        f"user:{NEWCOMER}",
        "user:paula@partner.example",
        "user:tara@customer.example",  # never logged in: a member held by the stores
    ]
    personas = whocan_report.choose_subjects(
        found.subjects, By.PERSONA, externals_only=False, organisation_domains=["corp.example"]
    )
    assert all(s.name.startswith("persona:") for s in personas) and len(personas) == 9


@pytest.mark.backend
async def test_a_hostile_space_name_is_escaped_in_the_heat_map(
    services: Services, tmp_path: Path
) -> None:
    made = await run(
        services,
        "erin@corp.example",
        CREATE,
        {"i": {"store": "INTERNAL", "kind": "GROUP", "name": HOSTILE, "visibility": "OPEN"}},
    )
    assert made.data["createSpace"]["errors"] == []
    found = await population.gather(services.stores, services.records)
    assert HOSTILE in {s.name for s in found.spaces}
    report = who_can(services.policy, found.subjects, found.spaces, NOW)
    from gateway.reports import access_matrix
    from tests.reports.test_access_matrix import parse_matrix

    path = tmp_path / "matrix.html"
    access_matrix.write(report, path)
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    matrix = parse_matrix(page)
    assert HOSTILE in matrix.spaces
    assert [name for name, _ in matrix.rows] == [s.name for s in found.subjects]
    assert all(len(cells) == len(found.spaces) for _, cells in matrix.rows)
    column = matrix.spaces.index(HOSTILE)
    employee = dict(matrix.rows)["persona:employee"][column]
    assert employee[0] == "cell allowed"
    assert "policies.csv:" in employee[1] and "p, employee, internal/open/*" in employee[1]

    # Grouped, each row's cell per store and visibility counts what the per-space cells say.
    access_matrix.write(report, path, grouped=True)
    grouped = parse_matrix(path.read_text(encoding="utf-8"))
    by_group: dict[str, list[Space]] = {}
    for space in report.spaces:
        by_group.setdefault(f"{space.store} / {space.visibility}", []).append(space)
    assert {g for g, _ in grouped.groups} == set(by_group)
    for row, (name, cells) in zip(report.rows, grouped.rows, strict=True):
        assert name == row.subject.name
        for (group, _), (_css, title) in zip(grouped.groups, cells, strict=True):
            members = by_group[group]
            allowed = sum(
                d.allowed for s, d in zip(report.spaces, row.decisions, strict=True) if s in members
            )
            if 0 < allowed < len(members):
                assert f"allowed on {allowed:,} of {len(members):,}" in title, (name, group)


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def demo_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo on SQLite files, configured through the environment as an admin would;
    carl, paula and erin have used the gateway (they are known principals)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / ".gateway"))
    monkeypatch.setenv("GATEWAY_DEMO_DATA", "true")
    for name in ("INTERNAL", "COMMUNITY", "RECORDS"):
        monkeypatch.setenv(f"GATEWAY_{name}_URL", f"sqlite+aiosqlite:///{tmp_path / name}.db")
    monkeypatch.setenv("GATEWAY_ORGANISATION_DOMAINS", "corp.example")
    monkeypatch.setenv("GATEWAY_POLICY_FILE", str(POLICY_FILE))

    async def prepare() -> None:
        built = build_services(Settings.load())
        await prepare_stores(built)
        for who in ("carl@contractor.example", "paula@partner.example", "erin@corp.example"):
            await run(built, who, "{ viewer { id } }")
        await built.close()

    asyncio.run(prepare())
    return tmp_path


def test_the_who_view_prints_a_table_and_csv(
    demo_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["access-report", "--who"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "SPACE",
        "PRINCIPAL",
        "ROLES",
        "ALLOWED_BY",
        "VIA_ROLE",
        "VIA_EXPIRES",
        "POLICY_VERSION",
        "JUDGED",
    ]
    assert "persona:contractor" in table and "Champions" not in table  # internal by default
    assert main(["access-report", "--who", "--externals", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {(r["principal"], r["space"]) for r in rows} == {
        ("user:carl@contractor.example", "Engineering"),
        ("user:carl@contractor.example", "Engineering Q&A"),
        ("user:paula@partner.example", AURORA),
        ("user:tara@customer.example", AURORA),  # never logged in, a guest of Aurora
    }
    tara = next(r for r in rows if r["principal"] == "user:tara@customer.example")
    # Her internal profile is marked external and nothing else is known: her memberships only.
    assert tara["judged"] == (
        "never logged in; judged as no persona (memberships only) by the stores (nothing says more)"
    )
    assert tara["via_role"] == "space_guest"
    assert all(r["judged"] == "" for r in rows if r is not tara)
    # Project Falcon's owner never logged in: the stores' membership lists them.
    falcon = ["access-report", "--who", "--space", "internal/restricted/project-falcon", "--csv"]
    assert main(falcon) == 0
    readers = {r["principal"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert readers["user:omar@corp.example"]["via_role"] == "space_owner"
    assert readers["user:omar@corp.example"]["judged"] == (
        "never logged in; judged as employee by their email's domain (corp.example)"
    )
    assert readers["user:erin@corp.example"]["judged"] == ""
    paula = next(r for r in rows if r["principal"] == "user:paula@partner.example")
    assert paula["via_role"] == "space_guest" and paula["via_expires"].endswith(" UTC")
    assert paula["allowed_by"].startswith("policies.csv:")
    assert paula["allowed_by"].endswith(": p, space_guest, internal/shared/*, space, read, allow")
    # One space by its key, persona rows only, and a write (which also needs read).
    assert (
        main(
            [
                "access-report",
                "--who",
                "--space",
                "internal/open/engineering",
                "--by",
                "persona",
                "--action",
                "ask",
                "--csv",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["principal"], r["allowed_by"].split(": ", 1)[1]) for r in rows] == [
        ("persona:contractor", "p, contractor, internal/open/*, space, ask, allow"),
        ("persona:employee", "p, employee, internal/open/*, space, ask, allow"),
    ]


def test_the_who_view_draws_the_matrix(
    demo_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.reports.test_access_matrix import parse_matrix

    html_file = demo_files / "matrix.html"
    assert main(["access-report", "--who", "--store", "all", "--picture", str(html_file)]) == 0
    out = capsys.readouterr()
    assert out.out == ""
    assert f"wrote {html_file}" in out.err
    matrix = parse_matrix(html_file.read_text(encoding="utf-8"))
    assert len(matrix.spaces) == 9
    # Known principals, those the stores hold who never logged in, then one per persona.
    assert [name for name, _ in matrix.rows][:7] == [
        "user:carl@contractor.example",
        "user:erin@corp.example",
        "user:paula@partner.example",
        "user:hana@corp.example",
        "user:mia@corp.example",
        "user:omar@corp.example",
        "user:tara@customer.example",
    ]
    assert len(matrix.rows) == 3 + 4 + 9
    # A column per store and visibility, when asked (by itself past GROUP_PAST spaces).
    assert (
        main(["access-report", "--who", "--store", "all", "--picture", str(html_file), "--group"])
        == 0
    )
    assert "(a column per store and visibility)" in capsys.readouterr().err
    grouped = parse_matrix(html_file.read_text(encoding="utf-8"))
    assert [g for g, _ in grouped.groups] == [
        "internal / open",
        "internal / restricted",
        "internal / shared",
        "community / public",
        "community / members",
        "community / trusted",
    ]
    assert sum(int(label.split()[0]) for label in grouped.spaces) == 9
    assert main(["access-report", "--who", "--group"]) == 2
    assert "--group belongs to the picture" in capsys.readouterr().err
    png = demo_files / "matrix.png"
    assert main(["access-report", "--who", "--by", "persona", "--picture", str(png)]) == 0
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = png_size(data)
    assert width > 100 and height > 100


def test_the_who_view_refuses_bad_usage_and_writes_nothing(
    demo_files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    svg = demo_files / "matrix.svg"
    assert main(["access-report", "--who", "--picture", str(svg)]) == 2
    assert "must end in .html (a heat map) or .png" in capsys.readouterr().err
    assert not svg.exists()
    html_file = demo_files / "matrix.html"
    assert main(["access-report", "--picture", str(html_file)]) == 2
    assert "--picture belongs to the who-can view: add --who" in capsys.readouterr().err
    assert main(["access-report", "--who", "--by", "persona", "--externals"]) == 2
    assert "personas have none" in capsys.readouterr().err
    assert main(["access-report", "--who", "--space", "internal/open/nowhere"]) == 2
    assert "no space internal/open/nowhere" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["access-report", "--who", "--action", "invite"])
    assert exited.value.code == 2
    assert "invalid choice: 'invite'" in capsys.readouterr().err
    # Without matplotlib a PNG cannot be drawn: said at once, nothing written.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    png = demo_files / "matrix.png"
    assert main(["access-report", "--who", "--picture", str(png)]) == 2
    assert "drawing a PNG needs matplotlib" in capsys.readouterr().err
    assert not png.exists() and not html_file.exists()


def test_the_membership_report_stays_the_default(
    demo_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["access-report", "--externals", "--store", "internal"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:3] == ["SPACE", "PERSON", "EMAIL"]
