"""The access matrix: principals or personas against spaces, as an HTML heat map or a PNG.

Rows are the report's subjects, columns its spaces grouped by store and visibility;
a cell is allowed, allowed through a membership, denied by a line, or denied because
no line grants it. Past :data:`GROUP_PAST` spaces a column per space is unreadable (10,000
spaces made a 25,000-pixel image): each store and visibility is then one labelled column
("internal / open: 4,812 spaces") whose cell says on how many of them the row is allowed
("12/4812"), or the one verdict they share; ``--space`` or ``--store`` narrows the report
to spaces that are drawn one by one. The HTML page is self-contained (inline CSS, no script), every
name escaped, each cell's title saying why. The PNG is drawn with matplotlib (the
``dev`` extra), without pyplot: no display, no global state.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.domain.model import StoreName, Visibility
from gateway.policies.admin.whocan import Verdict

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.policies.admin.whocan import Decision, WhoCan

SUFFIXES = (".html", ".png")


class PictureError(ValueError):
    """A picture that cannot be drawn: an unknown suffix, or no matplotlib for a PNG."""


def check(path: Path) -> None:
    """Raise PictureError, before anything is computed or written, if ``path`` cannot be
    drawn: its suffix picks the format."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise PictureError(
            f"cannot draw {path}: the file name must end in .html (a heat map) or .png"
        )
    if suffix == ".png":
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise PictureError(
                "drawing a PNG needs matplotlib (the dev extra: pip install -e '.[dev]'); "
                "or write FILE.html"
            ) from None


# More spaces than this are drawn a column per store and visibility, not per space.
GROUP_PAST = 120


def write(report: WhoCan, path: Path, *, grouped: bool | None = None) -> bool:
    """Draw ``report`` to ``path``: an HTML heat map or a PNG, by the suffix. ``grouped``:
    a column per store and visibility instead of per space (None: past :data:`GROUP_PAST`
    spaces). Returns whether it was grouped."""
    check(path)
    matrix = _Matrix.of(report)
    if grouped is None:
        grouped = len(report.spaces) > GROUP_PAST
    if grouped:
        blocks = _Blocks.of(matrix)
        if path.suffix.lower() == ".html":
            path.write_text(_grouped_html(blocks), encoding="utf-8")
        else:
            _grouped_png(blocks, path)
    elif path.suffix.lower() == ".html":
        path.write_text(_html(matrix), encoding="utf-8")
    else:
        _png(matrix, path)
    return grouped


# A cell's kind: the verdict, with denials split by whether a line says so.
ALLOWED, MEMBERSHIP, DENIED_BY_LINE, NOT_GRANTED = range(4)
_KINDS = {
    ALLOWED: ("allowed", "#2e7d32", "\u2713", "allowed (persona or own line)"),
    MEMBERSHIP: ("membership", "#1565c0", "M", "allowed through a membership"),
    DENIED_BY_LINE: ("deny", "#c62828", "\u2717", "denied by a deny line"),
    NOT_GRANTED: ("none", "#eeeeee", "", "denied: no line grants it"),
}


# A grouped cell whose spaces are not all decided alike: allowed on some of them.
SOME = len(_KINDS)
_SOME = ("some", "#a5d6a7", "allowed on some of the group's spaces (allowed/spaces)")


def _kind(decision: Decision) -> int:
    verdict = decision.verdict
    if verdict is Verdict.ALLOWED:
        return ALLOWED
    if verdict is Verdict.MEMBERSHIP:
        return MEMBERSHIP
    return NOT_GRANTED if decision.rule is None else DENIED_BY_LINE


@dataclass(frozen=True, slots=True)
class _Matrix:
    """The report rearranged for drawing: columns in group order, cells by kind."""

    title: str
    source: str
    groups: list[tuple[str, list[Space]]]  # "internal / open", its spaces
    rows: list[tuple[str, str]]  # subject name, roles
    cells: list[list[Decision]]  # per row, per column (in group order)

    @classmethod
    def of(cls, report: WhoCan) -> _Matrix:
        source = Path(report.source).name
        stores, visibilities = list(StoreName), list(Visibility)
        order = sorted(
            range(len(report.spaces)),
            key=lambda j: (
                stores.index(report.spaces[j].store),
                visibilities.index(report.spaces[j].visibility),
                report.spaces[j].name,
                report.spaces[j].id,
            ),
        )
        groups = [
            (f"{store} / {visibility}", [report.spaces[j] for j in members])
            for (store, visibility), members in groupby(
                order, key=lambda j: (report.spaces[j].store, report.spaces[j].visibility)
            )
        ]
        cells = [[row.decisions[j] for j in order] for row in report.rows]
        title = f"Who may {report.action} which space (policy {report.version[:12]})"
        return cls(
            title,
            source,
            groups,
            [(row.subject.name, row.subject.label) for row in report.rows],
            cells,
        )

    @property
    def spaces(self) -> list[Space]:
        return [space for _, spaces in self.groups for space in spaces]

    def kinds(self) -> list[list[int]]:
        found: dict[int, int] = {}  # pairs decided alike share their Decision
        return [
            [found[id(d)] if id(d) in found else found.setdefault(id(d), _kind(d)) for d in row]
            for row in self.cells
        ]


def _html(m: _Matrix) -> str:
    e = html.escape
    style = "".join(
        f".{css}{{background:{colour};color:{'#222' if kind == NOT_GRANTED else '#fff'}}}"
        for kind, (css, colour, _, _) in _KINDS.items()
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(m.title)}</title>",
        "<style>body{font:13px system-ui,sans-serif;margin:1em}"
        "table{border-collapse:collapse}th,td{border:1px solid #fff;padding:2px 4px}"
        "td.cell{width:1.6em;height:1.6em;text-align:center}"
        "thead th{background:#f5f5f5;font-weight:600}"
        "thead tr:last-child th{position:sticky;top:0}"
        "th.space{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;"
        "max-height:14em;white-space:nowrap}"
        "th.who{text-align:left;white-space:nowrap;position:sticky;left:0;background:#fff}"
        "small{color:#666;font-weight:400}"
        f".legend span{{display:inline-block;padding:2px 6px;margin-right:6px}}{style}"
        "</style></head><body>",
        f"<h1>{e(m.title)}</h1>",
        '<p class="legend">'
        + "".join(f'<span class="{css}">{e(label)}</span>' for css, _, _, label in _KINDS.values())
        + f" Hover a cell for the line of {e(m.source)} behind it.</p>",
        "<table><thead><tr><th></th>",
    ]
    out += [f'<th colspan="{len(spaces)}">{e(group)}</th>' for group, spaces in m.groups]
    out.append("</tr><tr><th></th>")
    out += [f'<th class="space" title="{e(space.key)}">{e(space.name)}</th>' for space in m.spaces]
    out.append("</tr></thead><tbody>")
    # Escaping is per character: the parts of a tooltip are escaped once each, not per cell.
    where = [f" on {e(space.name)} ({e(space.key)}): " for space in m.spaces]
    shown: dict[int, tuple[str, str, str]] = {}
    for (name, roles), cells in zip(m.rows, m.cells, strict=True):
        who = e(name)
        out.append(f'<tr><th class="who">{who} <small>{e(roles)}</small></th>')
        for decision, place in zip(cells, where, strict=True):
            found = shown.get(id(decision))
            if found is None:
                css, _, mark, _ = _KINDS[_kind(decision)]
                found = shown[id(decision)] = (css, mark, e(decision.why(m.source)))
            css, mark, why = found
            out.append(f'<td class="cell {css}" title="{who}{place}{why}">{mark}</td>')
        out.append("</tr>")
    out.append("</tbody></table></body></html>")
    return "\n".join(out) + "\n"


# Past this many rows or columns labels would be unreadable: they are left out and the
# cells shrink. Agg refuses images over 2**16 pixels a side: the size is capped well below.
_LABELLED = 120
_DPI = 100
_MAX_INCHES = 250.0


def _png(m: _Matrix, path: Path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    n_rows, n_cols = len(m.rows), len(m.spaces)
    labelled = max(n_rows, n_cols) <= _LABELLED
    cell = 0.22 if labelled else 0.03
    width = min(_MAX_INCHES, max(8.0, 3.5 + cell * n_cols))
    height = min(_MAX_INCHES, max(4.0, 3.0 + cell * n_rows))
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    ax = figure.add_subplot()
    data = m.kinds() if n_rows and n_cols else [[NOT_GRANTED]]
    colours = ListedColormap([_KINDS[k][1] for k in sorted(_KINDS)])
    ax.imshow(data, cmap=colours, vmin=0, vmax=len(_KINDS) - 1, aspect="auto")
    ax.set_title(m.title, loc="left", fontsize=9)
    if labelled and n_cols:
        ax.set_xticks(range(n_cols), [s.name for s in m.spaces], rotation=90, fontsize=7)
        ax.set_yticks(range(n_rows), [name for name, _ in m.rows], fontsize=7)
        # White lines between cells, so that each (row, space) reads as one square.
        ax.set_xticks([x - 0.5 for x in range(1, n_cols)], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, n_rows)], minor=True)
        ax.grid(which="minor", color="white", linewidth=0.6)
        ax.tick_params(which="minor", length=0)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{n_cols} spaces")
        ax.set_ylabel(f"{n_rows} principals and personas")
    # Store / visibility groups: a line between two, the name on top.
    top = ax.secondary_xaxis("top")
    centres, start = [], 0
    for _, spaces in m.groups:
        centres.append(start + (len(spaces) - 1) / 2)
        if start:
            ax.axvline(start - 0.5, color="black", linewidth=0.8)
        start += len(spaces)
    top.set_xticks(centres, [group for group, _ in m.groups], fontsize=7, rotation=30)
    handles = [_patch(colour, label) for _, colour, _, label in _KINDS.values()]
    figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=7)
    figure.savefig(path, format="png")


def _patch(colour: str, label: str) -> object:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="#999999", label=label)


# --- grouped: a column per store and visibility ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Block:
    """One row's decisions on one group's spaces: how many of each kind."""

    counts: tuple[int, ...]  # per kind, in _KINDS order
    shared: Decision | None  # the one decision every space of the group got, if so

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def allowed(self) -> int:
        return self.counts[ALLOWED] + self.counts[MEMBERSHIP]

    @property
    def kind(self) -> int:
        """A kind when every space got it; ALLOWED or a denial when all are allowed or all
        denied, in different ways (the title counts them); else SOME."""
        for kind, n in enumerate(self.counts):
            if n == self.total:
                return kind
        if self.allowed == self.total:  # allowed everywhere, on some through a membership
            return ALLOWED
        if self.allowed == 0:
            return DENIED_BY_LINE if self.counts[DENIED_BY_LINE] else NOT_GRANTED
        return SOME

    def mark(self) -> str:
        if self.kind == SOME:
            return f"{self.allowed}/{self.total}"
        return _KINDS[self.kind][2]

    def why(self, source: str) -> str:
        if self.shared is not None:
            return self.shared.why(source)
        parts = [
            f"{label.split(' (')[0]} on {n:,}"
            for (_, _, _, label), n in zip(_KINDS.values(), self.counts, strict=True)
            if n
        ]
        return f"allowed on {self.allowed:,} of {self.total:,}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class _Blocks:
    """The matrix with a column per store and visibility group."""

    title: str
    source: str
    groups: list[tuple[str, int]]  # "internal / open", how many spaces
    rows: list[tuple[str, str]]
    cells: list[list[_Block]]

    @classmethod
    def of(cls, m: _Matrix) -> _Blocks:
        bounds, start = [], 0
        for _, spaces in m.groups:
            bounds.append((start, start + len(spaces)))
            start += len(spaces)
        kinds = m.kinds()
        cells = []
        for decisions, row_kinds in zip(m.cells, kinds, strict=True):
            row = []
            for lo, hi in bounds:
                counts = [0] * len(_KINDS)
                for kind in row_kinds[lo:hi]:
                    counts[kind] += 1
                first = decisions[lo] if hi > lo else None
                shared = first if all(d is first for d in decisions[lo:hi]) else None
                row.append(_Block(tuple(counts), shared))
            cells.append(row)
        groups = [(name, len(spaces)) for name, spaces in m.groups]
        return cls(m.title, m.source, groups, m.rows, cells)


def _grouped_html(b: _Blocks) -> str:
    e = html.escape
    kinds = [*_KINDS.values(), (_SOME[0], _SOME[1], "", _SOME[2])]
    style = "".join(
        f".{css}{{background:{colour};color:{'#222' if css in ('none', 'some') else '#fff'}}}"
        for css, colour, _, _ in kinds
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(b.title)}</title>",
        "<style>body{font:13px system-ui,sans-serif;margin:1em}"
        "table{border-collapse:collapse}th,td{border:1px solid #fff;padding:2px 6px}"
        "td.cell{min-width:4em;text-align:center}thead th{background:#f5f5f5;font-weight:600}"
        "th.who{text-align:left;white-space:nowrap;background:#fff}"
        "small{color:#666;font-weight:400}"
        f".legend span{{display:inline-block;padding:2px 6px;margin-right:6px}}{style}"
        "</style></head><body>",
        f"<h1>{e(b.title)}</h1>",
        f"<p>{sum(n for _, n in b.groups):,} spaces, a column per store and visibility; "
        "narrow the report with --space or --store to see each space.</p>",
        '<p class="legend">'
        + "".join(f'<span class="{css}">{e(label)}</span>' for css, _, _, label in kinds)
        + f" Hover a cell for the line of {e(b.source)} behind it.</p>",
        "<table><thead><tr><th></th>",
    ]
    out += [f'<th colspan="1">{e(group)}</th>' for group, _ in b.groups]
    out.append("</tr><tr><th></th>")
    out += [f'<th class="space">{_spaces(n)}</th>' for _, n in b.groups]
    out.append("</tr></thead><tbody>")
    for (name, roles), blocks in zip(b.rows, b.cells, strict=True):
        who = e(name)
        out.append(f'<tr><th class="who">{who} <small>{e(roles)}</small></th>')
        for (group, n), block in zip(b.groups, blocks, strict=True):
            css = kinds[block.kind][0]
            title = f"{who} on {e(group)} ({_spaces(n)}): {e(block.why(b.source))}"
            out.append(f'<td class="cell {css}" title="{title}">{e(block.mark())}</td>')
        out.append("</tr>")
    out.append("</tbody></table></body></html>")
    return "\n".join(out) + "\n"


def _grouped_png(b: _Blocks, path: Path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    n_rows, n_cols = len(b.rows), len(b.groups)
    labelled = n_rows <= _LABELLED
    cell = 0.5 if labelled else 0.03
    width = min(_MAX_INCHES, max(8.0, 3.5 + 1.1 * n_cols))
    height = min(_MAX_INCHES, max(4.0, 3.0 + cell * n_rows))
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    ax = figure.add_subplot()
    data = [[block.kind for block in row] for row in b.cells] if n_rows and n_cols else [[0]]
    palette = [*(_KINDS[k][1] for k in sorted(_KINDS)), _SOME[1]]
    colours = ListedColormap(palette)
    ax.imshow(data, cmap=colours, vmin=0, vmax=SOME, aspect="auto")
    ax.set_title(b.title, loc="left", fontsize=9)
    ax.set_xticks(range(n_cols), [f"{g}\n{_spaces(n)}" for g, n in b.groups], fontsize=7)
    if labelled:
        ax.set_yticks(range(n_rows), [name for name, _ in b.rows], fontsize=7)
        for y, row in enumerate(b.cells):
            for x, block in enumerate(row):
                if block.kind == SOME:
                    ax.text(x, y, block.mark(), ha="center", va="center", fontsize=6)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{n_rows} principals and personas")
    labels = [*(label for _, _, _, label in _KINDS.values()), _SOME[2]]
    handles = [_patch(c, label) for c, label in zip(palette, labels, strict=True)]
    figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=7)
    figure.savefig(path, format="png")


def _spaces(n: int) -> str:
    return f"{n:,} space{'' if n == 1 else 's'}"
