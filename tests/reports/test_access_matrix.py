"""The access matrix: an HTML heat map with a cell per (row, space), escaped, each cell saying
why; and a real PNG."""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest

from gateway.domain.model import Membership, SpaceRole, StoreName
from gateway.policies.admin.impact import Subject, persona_subjects
from gateway.policies.admin.whocan import Verdict, who_can
from gateway.reports import access_matrix
from tests.policies.test_whocan import CARL, NINA, NOW, POLICY, SPACES, _space

if TYPE_CHECKING:
    from pathlib import Path

    from gateway.domain.model import Space

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk (IHDR, the first after the magic)."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@dataclass
class Matrix:
    groups: list[tuple[str, int]] = field(default_factory=list)  # name, colspan
    spaces: list[str] = field(default_factory=list)
    # row name, [(class, title)] per cell
    rows: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.matrix = Matrix()
        self._th: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "th":
            self._th, self._text = found, []
        elif tag == "td":
            self.matrix.rows[-1][1].append((found.get("class") or "", found.get("title") or ""))

    def handle_data(self, data: str) -> None:
        if self._th is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "th" or self._th is None:
            return
        text = "".join(self._text).strip()
        if self._th.get("colspan"):
            self.matrix.groups.append((text, int(self._th["colspan"] or 0)))
        elif self._th.get("class") == "space":
            self.matrix.spaces.append(text)
        elif self._th.get("class") == "who":
            self.matrix.rows.append((text.split()[0], []))
        self._th = None


def parse_matrix(page: str) -> Matrix:
    reader = _Reader()
    reader.feed(page)
    return reader.matrix


def test_the_heat_map_has_a_cell_per_row_and_space_saying_why(tmp_path: Path) -> None:
    subjects = [CARL, NINA, *persona_subjects()]
    report = who_can(POLICY, subjects, SPACES, NOW)
    path = tmp_path / "m.html"
    access_matrix.write(report, path)
    matrix = parse_matrix(path.read_text(encoding="utf-8"))
    # Columns grouped by store, then visibility.
    assert matrix.groups == [
        ("internal / open", 1),
        ("internal / restricted", 1),
        ("internal / shared", 1),
        ("community / public", 1),
        ("community / trusted", 1),
    ]
    assert matrix.spaces == ["handbook", "falcon", "aurora", "ideas", "champions"]
    assert [name for name, _ in matrix.rows] == [s.name for s in subjects]
    assert all(len(cells) == len(SPACES) for _, cells in matrix.rows)
    rows = dict(matrix.rows)
    carl_falcon = rows["user:carl@contractor.example"][1]
    assert carl_falcon[0] == "cell deny"
    assert "denied by policies.csv:" in carl_falcon[1]
    assert "p, contractor, internal/restricted/*, space, read, deny" in carl_falcon[1]
    nina_aurora = rows["user:nina@partner.example"][2]
    assert nina_aurora[0] == "cell membership"
    assert "via space_guest in internal/shared/aurora, expires " in nina_aurora[1]
    assert rows["persona:employee"][0][0] == "cell allowed"
    assert rows["persona:guest"][0] == (
        "cell none",
        "persona:guest on handbook (internal/open/handbook): no line of policies.csv grants "
        "it (default deny)",
    )


def test_names_are_escaped_everywhere(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">&'
    spaces = [_space("internal/open/handbook", hostile)]
    report = who_can(POLICY, persona_subjects(), spaces, NOW)
    path = tmp_path / "m.html"
    access_matrix.write(report, path)
    page = path.read_text(encoding="utf-8")
    assert "<img" not in page and 'onerror="' not in page
    assert parse_matrix(page).spaces == [hostile]


def test_the_png_is_a_real_png(tmp_path: Path) -> None:
    import matplotlib.image

    report = who_can(POLICY, [CARL, NINA, *persona_subjects()], SPACES, NOW)
    path = tmp_path / "m.png"
    access_matrix.write(report, path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = png_size(data)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    # The cells are drawn: each kind's colour covers far more than its legend patch does
    # (a cell is at least 0.2 inch square at 100 dpi: over 400 pixels).
    rgb = (pixels[:, :, :3] * 255).round().astype(int)
    decisions = [d for row in report.rows for d in row.decisions]
    kinds = {
        "#2e7d32": sum(d.verdict is Verdict.ALLOWED for d in decisions),
        "#1565c0": sum(d.verdict is Verdict.MEMBERSHIP for d in decisions),
        "#c62828": sum(not d.allowed and d.rule is not None for d in decisions),
    }
    assert all(kinds.values()), kinds
    for colour, cells in kinds.items():
        wanted = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        assert (rgb == wanted).all(axis=2).sum() >= 400 * cells, colour


def test_a_large_matrix_is_drawn_without_labels_within_bounds(tmp_path: Path) -> None:
    spaces = [_space(f"internal/open/s{i}") for i in range(150)]
    subjects = persona_subjects() * 30
    report = who_can(POLICY, subjects, spaces, NOW)
    path = tmp_path / "big.png"
    access_matrix.write(report, path)
    width, height = png_size(path.read_bytes())
    assert 0 < width < 2**16 and 0 < height < 2**16


@pytest.mark.parametrize("name", ["m.svg", "m", "m.htm", "m.png.txt"])
def test_only_html_and_png_are_drawn(tmp_path: Path, name: str) -> None:
    report = who_can(POLICY, persona_subjects(), SPACES, NOW)
    with pytest.raises(access_matrix.PictureError, match=r"must end in \.html"):
        access_matrix.write(report, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    access_matrix.check(tmp_path / "UPPER.PNG")  # the suffix's case does not matter


def _many_spaces(n: int) -> list[Space]:
    """``n`` spaces over three groups: most open, some restricted, a few shared."""
    keys = []
    for i in range(n):
        visibility = "open" if i % 10 < 7 else "restricted" if i % 10 < 9 else "shared"
        keys.append(f"internal/{visibility}/s{i}")
    return [_space(k) for k in keys]


def test_ten_thousand_spaces_are_drawn_a_labelled_column_per_store_and_visibility(
    tmp_path: Path,
) -> None:
    spaces = _many_spaces(10_000)
    # nina holds a guest membership of one shared space among a thousand.
    nina = Subject.known(
        dataclasses.replace(
            NINA.principal,
            memberships=(
                Membership(StoreName.INTERNAL, "s9", "internal/shared/s9", SpaceRole.GUEST),
            ),
        )
    )
    subjects = [CARL, nina, *persona_subjects()]
    report = who_can(POLICY, subjects, spaces, NOW)
    path = tmp_path / "big.html"
    assert access_matrix.write(report, path)  # grouped by itself, past GROUP_PAST spaces
    page = path.read_text(encoding="utf-8")
    assert len(page) < 50_000
    matrix = parse_matrix(page)
    assert matrix.groups == [
        ("internal / open", 1),
        ("internal / restricted", 1),
        ("internal / shared", 1),
    ]
    assert matrix.spaces == ["7,000 spaces", "2,000 spaces", "1,000 spaces"]
    rows = dict(matrix.rows)
    open_, _restricted, shared = rows["user:nina@partner.example"]
    assert open_[0] == "cell none"
    assert shared[0] == "cell some"
    assert "internal / shared (1,000 spaces): allowed on 1 of 1,000" in shared[1]
    assert "allowed through a membership on 1" in shared[1]
    # A group decided alike says the one line that decides it.
    carl_restricted = rows["user:carl@contractor.example"][1]
    assert carl_restricted[0] == "cell deny"
    assert "p, contractor, internal/restricted/*, space, read, deny" in carl_restricted[1]
    assert rows["persona:employee"][0][0] == "cell allowed"
    assert "1/1000" in page

    png = tmp_path / "big.png"
    assert access_matrix.write(report, png)
    width, height = png_size(png.read_bytes())
    assert width <= 1_200 and height <= 1_200  # was 25,000 pixels wide


def test_grouping_can_be_asked_for_or_refused(tmp_path: Path) -> None:
    report = who_can(POLICY, [CARL, NINA], SPACES, NOW)
    path = tmp_path / "m.html"
    assert access_matrix.write(report, path, grouped=True)
    assert parse_matrix(path.read_text(encoding="utf-8")).spaces == ["1 space"] * 5
    report = who_can(POLICY, [CARL], _many_spaces(200), NOW)
    assert not access_matrix.write(report, path, grouped=False)
    assert len(parse_matrix(path.read_text(encoding="utf-8")).spaces) == 200


def test_a_group_allowed_everywhere_in_different_ways_is_allowed() -> None:
    m = access_matrix
    mixed = m._Block((90, 1, 0, 0), None)  # allowed on 90 by a persona, on 1 by a membership
    assert (mixed.kind, mixed.allowed, mixed.total) == (m.ALLOWED, 91, 91)
    assert mixed.why("p.csv") == (
        "allowed on 91 of 91: allowed on 90; allowed through a membership on 1"
    )
    denied = m._Block((0, 0, 3, 4), None)
    assert denied.kind == m.DENIED_BY_LINE and denied.mark() == "\u2717"
    some = m._Block((1, 0, 0, 4), None)
    assert (some.kind, some.mark()) == (m.SOME, "1/5")
