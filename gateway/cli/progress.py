"""Progress bars of long commands (tqdm's), on stderr: shown on a terminal or when asked
for (``--progress``), never mixed into what a command prints on stdout."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar, overload

from tqdm import tqdm

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gateway.reports.access_report import Bars, Progress

__all__ = ["add_flag", "bars", "counted", "wanted"]

T = TypeVar("T")


def wanted(flag: bool | None) -> bool:
    """``--progress`` (True), ``--no-progress`` (False), or neither: when stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag


def add_flag(parser: argparse.ArgumentParser, help: str) -> None:  # argparse's word
    """``--progress``/``--no-progress`` on a command (neither: on a terminal, :func:`wanted`)."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"{help} (default: on a terminal)",
    )


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


class counted(Sequence[T]):  # used like a function
    """``items`` as they are, with a bar (on stderr, shown when ``show``) that counts them
    as a long computation walks them: for work whose loop lives in another layer (the
    policy impact's over principals), which takes a sequence and need not know of bars."""

    def __init__(self, items: Sequence[T], *, show: bool, what: str, unit: str) -> None:
        self.items = items
        self.bar = bars(show, what)(unit, len(items))

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self.items[index]

    def __iter__(self) -> Iterator[T]:
        with self.bar as shown:
            for item in self.items:
                yield item
                shown.update(1)
