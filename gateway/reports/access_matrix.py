"""The access matrix: principals or personas against spaces, as an HTML heat map or a PNG.

Rows are the report's subjects, columns its spaces grouped by store and visibility;
a cell is allowed, allowed through a membership, denied by a line, or denied because
no line grants it. The HTML page is self-contained (inline CSS, no script), every
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


def write(report: WhoCan, path: Path) -> None:
    """Draw ``report`` to ``path``: an HTML heat map or a PNG, by the suffix."""
    check(path)
    matrix = _Matrix.of(report)
    if path.suffix.lower() == ".html":
        path.write_text(_html(matrix), encoding="utf-8")
    else:
        _png(matrix, path)


# A cell's kind: the verdict, with denials split by whether a line says so.
ALLOWED, MEMBERSHIP, DENIED_BY_LINE, NOT_GRANTED = range(4)
_KINDS = {
    ALLOWED: ("allowed", "#2e7d32", "\u2713", "allowed (persona or own line)"),
    MEMBERSHIP: ("membership", "#1565c0", "M", "allowed through a membership"),
    DENIED_BY_LINE: ("deny", "#c62828", "\u2717", "denied by a deny line"),
    NOT_GRANTED: ("none", "#eeeeee", "", "denied: no line grants it"),
}


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
