"""Progress bars of long commands (tqdm's), on stderr: shown on a terminal or when asked
for (``--progress``), never mixed into what a command prints on stdout."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from tqdm import tqdm

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gateway.reports.access_report import Bars, Progress

__all__ = ["bars", "wanted"]


def wanted(flag: bool | None) -> bool:
    """``--progress`` (True), ``--no-progress`` (False), or neither: when stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag


def bars(show: bool, what: str) -> Bars:
    """A bar per stage of ``what`` (e.g. "access report"): counted in ``unit``, out of
    ``total``, with its rate and the time left. None drawn when ``show`` is False."""

    @contextlib.contextmanager
    def bar(unit: str, total: int) -> Iterator[Progress]:
        with tqdm(
            total=total,
            desc=what,
            unit=f" {unit}",
            file=sys.stderr,
            disable=not show,
            dynamic_ncols=True,
            mininterval=0.25,
        ) as shown:
            yield shown

    return bar
