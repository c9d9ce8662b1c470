"""What seeding, serving and measuring agree on: paths, sizes, personas, the query."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_ROOT = BENCH_DIR / "out"  # gitignored

# Named sizes: (spaces, posts). Posts count topics and replies of both stores together.
SIZES: dict[str, tuple[int, int]] = {
    "small": (10_000, 10_000),
    "large": (10_000, 1_000_000),
}

# Where a seeded data set keeps its manifest; run.py reads it back.
MANIFEST = "seed.json"
RESULTS = "results.json"

# The representative front-end query, sent unchanged in every mode.
QUERY = (
    "{ questions(first: 20) { edges { node { title tags answerCount "
    "author { displayName } space { name } } } } }"
)
PAGE = 20

# Benchmarks send far more than a caller's rate limit allows: they measure the request path.
UNLIMITED = {
    "GATEWAY_RATE_LIMIT": "off",
    "GATEWAY_RATE_LIMIT_GUEST": "off",
    "GATEWAY_RATE_LIMIT_ADMIN": "off",
    "GATEWAY_RATE_LIMIT_LOGIN": "off",
}


@dataclass(frozen=True, slots=True)
class Persona:
    """A benchmarked caller: ``email`` None is the guest (no token at all)."""

    label: str
    email: str | None
    name: str
    roles: tuple[str, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona("guest", None, "Guest", ()),
    Persona("partner", "paula@partner.example", "Paula Perez", ("partner",)),
    Persona("employee", "erin@corp.example", "Erin Engel", ("employee",)),
)


def size_name(spaces: int, posts: int) -> str:
    """The preset's name for these figures, or a descriptive one."""
    for name, figures in SIZES.items():
        if figures == (spaces, posts):
            return name
    return f"{spaces}s-{posts}p"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"


def default_urls(out_dir: Path) -> tuple[str, str]:
    """SQLite files for the internal and community stores under ``out_dir``."""
    return sqlite_url(out_dir / "internal.db"), sqlite_url(out_dir / "community.db")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, None for a server URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def db_size(url: str) -> int | None:
    """Bytes on disk of a SQLite store (main file plus WAL), None for servers."""
    path = sqlite_path(url)
    if path is None:
        return None
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def mib(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:,.1f} MiB"
