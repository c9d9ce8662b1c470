"""Measure the read path: five modes x three personas, over real HTTP on 127.0.0.1.

    python -m bench.run --size small|large [--requests N] [--concurrency C] [--plot FILE.png]

For each mode (``bench.serve``: real, allow-all, naive, raw) one server process is
started; for each persona the representative front-end query is sent: a warm-up,
then ``N`` requests one at a time with the modes in rotation (p50/p99 latency), then
per mode ``N`` requests from ``C`` concurrent clients (throughput). Every loop is
bounded by a count and a deadline.
Responses of real, naive and raw are compared: they must be the same questions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    MANIFEST,
    OUT_ROOT,
    PERSONAS,
    QUERY,
    RESULTS,
    Persona,
    mib,
)
from bench.serve import MODES, data_dir, path_for, running
from gateway.identity.dev_issuer import DevIssuer

LABELS = {
    "real": "(a) real",
    "allow-all": "(b) allow-all",
    "naive": "(c) naive",
    "raw": "(d) raw",
    "cached": "(e) cached",
}
TARGET_AUTHZ = 1.05  # (a)/(b) at most
TARGET_PUSHDOWN = 100.0  # (c)/(a) at least
TARGET_FLAT = 1.2  # (a) at 1M posts / (a) at 10k posts, at most ("flat")
TARGET_FLOOR = 1.5  # (a)/(d) p50, at most
TARGET_CACHED = 5.0  # (e)/(d) throughput, at least
TARGET_EMPLOYEE = 1.5  # the employee's (a) p50 over the guest's, at most
REQUEST_TIMEOUT = 60.0

Signature = tuple[tuple[str, str], ...]  # (title, space name) per question, in order


@dataclass
class Cell:
    """What one (mode, persona) measured."""

    mode: str
    persona: str
    latencies_ms: list[float] = field(default_factory=list)
    throughput: float = 0.0
    throughput_requests: int = 0
    concurrency: int = 1
    errors: list[str] = field(default_factory=list)
    signatures: set[Signature] = field(default_factory=set)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    scanned: list[int] = field(default_factory=list)  # naive: rows it had to judge

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "persona": self.persona,
            "requests": len(self.latencies_ms),
            "p50_ms": round(self.p50, 3),
            "p99_ms": round(self.p99, 3),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 3) if self.latencies_ms else None,
            "throughput_rps": round(self.throughput, 2),
            "throughput_requests": self.throughput_requests,
            "concurrency": self.concurrency,
            "rows": len(self.nodes),
            "errors": len(self.errors),
            "scanned_mean": round(statistics.fmean(self.scanned), 1) if self.scanned else None,
        }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 200 samples is the 198th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# --- talking to one server ------------------------------------------------------------
class Client:
    """One persona's requests to one mode's endpoint."""

    def __init__(self, http: httpx.AsyncClient, mode: str, token: str | None) -> None:
        self.http = http
        self.path = path_for(mode)
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    async def ask(self, cell: Cell) -> float | None:
        """One request; its latency in ms, or None (and an error noted) when it failed."""
        started = time.perf_counter()
        try:
            response = await self.http.post(self.path, json={"query": QUERY}, headers=self.headers)
        except httpx.HTTPError as exc:
            cell.errors.append(f"{type(exc).__name__}: {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            cell.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            return None
        body = response.json()
        if body.get("errors"):
            cell.errors.append(f"GraphQL errors: {json.dumps(body['errors'])[:300]}")
            return None
        nodes = [edge["node"] for edge in body["data"]["questions"]["edges"]]
        signature = tuple((n["title"], (n["space"] or {}).get("name", "")) for n in nodes)
        if signature not in cell.signatures:
            cell.signatures.add(signature)
            cell.nodes = nodes
        if "x-bench-scanned" in response.headers:
            cell.scanned.append(int(response.headers["x-bench-scanned"]))
        return elapsed


async def warm_up(client: Client, cell: Cell, *, count: int, max_seconds: float) -> None:
    deadline = time.monotonic() + max_seconds
    for _ in range(count):
        await client.ask(cell)
        if time.monotonic() > deadline:
            break
    cell.errors.clear()  # a cold start may fail; the measured passes must not


async def latency_pass(
    clients: dict[str, Client], cells: dict[str, Cell], *, requests: int, max_seconds: float
) -> None:
    """One request at a time, the modes in rotation (a, b, c, d, a, b, ...): whatever else
    the machine does meanwhile slows every mode alike, so the ratios stay fair. Each mode
    stops after ``requests`` attempts or ``max_seconds`` of its own time."""
    attempts = dict.fromkeys(clients, 0)
    spent = dict.fromkeys(clients, 0.0)
    active = list(clients)
    while active:
        for mode in list(active):
            started = time.monotonic()
            latency = await clients[mode].ask(cells[mode])
            spent[mode] += time.monotonic() - started
            attempts[mode] += 1
            if latency is not None:
                cells[mode].latencies_ms.append(latency)
            if attempts[mode] >= requests or spent[mode] >= max_seconds:
                active.remove(mode)


async def throughput_pass(
    client: Client, cell: Cell, *, requests: int, concurrency: int, max_seconds: float
) -> None:
    """``requests`` requests from ``concurrency`` clients at once, or until the deadline."""
    deadline = time.monotonic() + max_seconds
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < requests and time.monotonic() < deadline:
            issued += 1
            if await client.ask(cell) is not None:
                cell.throughput_requests += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cell.concurrency = concurrency
    cell.throughput = cell.throughput_requests / elapsed if elapsed > 0 else 0.0


# The throughput pass's count when it runs for a duration: more than any server answers.
UNBOUNDED = 100_000_000
AB_RATE = re.compile(r"^Requests per second:\s+([\d.]+)", re.M)
AB_COMPLETE = re.compile(r"^Complete requests:\s+(\d+)", re.M)
AB_FAILED = re.compile(
    r"^Failed requests:\s+(\d+)(?:\s*\n\s+\(Connect: (\d+), Receive: (\d+), "
    r"Length: (\d+), Exceptions: (\d+)\))?",
    re.M,
)
AB_NON_2XX = re.compile(r"^Non-2xx responses:\s+(\d+)", re.M)


def load_generator(choice: str) -> str | None:
    """The path of ApacheBench when the throughput pass should use it, else None (httpx)."""
    found = shutil.which("ab")
    if choice == "ab" and found is None:
        raise SystemExit("bench.run: --load ab, but ApacheBench (ab) is not installed")
    return found if choice in ("ab", "auto") else None


async def ab_throughput_pass(
    ab: str,
    base: str,
    client: Client,
    cell: Cell,
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
    scratch: Path,
) -> None:
    """The throughput pass by ApacheBench (C, keep-alive): the load generator then costs a
    fraction of what the Python client does, so the servers, not the client, set the rate.
    Only status codes are checked here; the latency pass checks every answer."""
    body = scratch / "query.json"
    body.write_text(json.dumps({"query": QUERY}))
    command = [
        ab,
        "-q",
        "-k",
        "-t",
        f"{max_seconds:g}",
        "-n",
        str(requests),
        "-c",
        str(concurrency),
    ]
    command += ["-p", str(body), "-T", "application/json"]
    for name, value in client.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"{base}{client.path}")
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out = (await process.communicate())[0].decode(errors="replace")
    rate, complete = AB_RATE.search(out), AB_COMPLETE.search(out)
    if process.returncode != 0 or rate is None or complete is None:
        cell.errors.append(f"ab failed ({process.returncode}): {out[-300:]}")
        return
    failed = AB_FAILED.search(out)
    broken = 0
    if failed is not None:
        # A differing length is not an error (ab expects every body the size of the first).
        parts = [int(g) for g in failed.groups()[1:] if g is not None]
        broken = parts[0] + parts[1] + parts[3] if parts else int(failed.group(1))
    non_2xx = AB_NON_2XX.search(out)
    broken += int(non_2xx.group(1)) if non_2xx else 0
    if broken:
        cell.errors.append(f"ab: {broken} failed or non-2xx responses")
    cell.throughput_requests = int(complete.group(1)) - broken
    cell.concurrency = concurrency
    cell.throughput = (
        float(rate.group(1)) * cell.throughput_requests / max(int(complete.group(1)), 1)
    )


async def run_all(
    bases: dict[str, str], tokens: dict[str, str | None], args: argparse.Namespace
) -> list[Cell]:
    """Persona by persona: warm every mode up, measure latency with the modes in
    rotation, then each mode's throughput."""
    limits = httpx.Limits(max_connections=args.concurrency + 2, max_keepalive_connections=32)
    cells: list[Cell] = []
    async with contextlib.AsyncExitStack() as stack:
        https = {
            mode: await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base, trust_env=False, timeout=REQUEST_TIMEOUT, limits=limits
                )
            )
            for mode, base in bases.items()
        }
        for persona in PERSONAS:
            if persona.label not in args.personas:
                continue
            clients = {m: Client(h, m, tokens[persona.label]) for m, h in https.items()}
            mine = {mode: Cell(mode, persona.label) for mode in clients}
            for mode, client in clients.items():
                await warm_up(client, mine[mode], count=args.warmup, max_seconds=args.max_seconds)
            await latency_pass(clients, mine, requests=args.requests, max_seconds=args.max_seconds)
            # For a duration, not a count: 200 cached answers take a tenth of a second, which
            # measures the connections' start more than the server.
            requests, seconds = (
                (UNBOUNDED, args.throughput_seconds)
                if args.throughput_seconds
                else (args.requests, args.max_seconds)
            )
            for mode, client in clients.items():
                if args.ab is not None:
                    await ab_throughput_pass(
                        args.ab,
                        bases[mode],
                        client,
                        mine[mode],
                        requests=requests,
                        concurrency=args.concurrency,
                        max_seconds=seconds,
                        scratch=args.scratch,
                    )
                else:
                    await throughput_pass(
                        client,
                        mine[mode],
                        requests=requests,
                        concurrency=args.concurrency,
                        max_seconds=seconds,
                    )
                print(_row(mine[mode]), flush=True)
            cells.extend(mine.values())
    return cells


def issue_tokens(out_dir: Path) -> dict[str, str | None]:
    """Development tokens for the personas; the guest sends none."""
    issuer = DevIssuer.open(data_dir(out_dir))  # creates the key before any server reads it
    tokens: dict[str, str | None] = {}
    for persona in PERSONAS:
        tokens[persona.label] = _token(issuer, persona)
    return tokens


def _token(issuer: DevIssuer, persona: Persona) -> str | None:
    if persona.email is None:
        return None
    return issuer.issue(email=persona.email, name=persona.name, roles=list(persona.roles))


# --- reporting ----------------------------------------------------------------------------
HEADER = (
    f"{'mode':<14} {'persona':<9} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>8} "
    f"{'n':>5} {'rows':>5} {'scanned':>8} {'errors':>6}"
)


def _row(cell: Cell) -> str:
    s = cell.summary()
    scanned = "" if s["scanned_mean"] is None else f"{s['scanned_mean']:.0f}"
    return (
        f"{LABELS[cell.mode]:<14} {cell.persona:<9} {s['p50_ms']:>9.2f} {s['p99_ms']:>9.2f} "
        f"{s['throughput_rps']:>8.1f} {s['requests']:>5} {s['rows']:>5} {scanned:>8} "
        f"{s['errors']:>6}"
    )


def _cell(cells: list[Cell], mode: str, persona: str) -> Cell | None:
    return next((c for c in cells if c.mode == mode and c.persona == persona), None)


def ratios(cells: list[Cell]) -> dict[str, dict[str, float]]:
    """Per persona: (a)/(b), (c)/(a), (a)/(d) of p50 latency; (e)/(d) of throughput."""
    out: dict[str, dict[str, float]] = {}
    for persona in sorted({c.persona for c in cells}, key=[p.label for p in PERSONAS].index):
        a, b = _cell(cells, "real", persona), _cell(cells, "allow-all", persona)
        c, d = _cell(cells, "naive", persona), _cell(cells, "raw", persona)
        row: dict[str, float] = {}
        if a and b:
            row["a/b"] = a.p50 / b.p50
        if a and c:
            row["c/a"] = c.p50 / a.p50
        if a and d:
            row["a/d"] = a.p50 / d.p50
        e = _cell(cells, "cached", persona)
        if e and d and d.throughput:
            row["e/d rps"] = e.throughput / d.throughput
        out[persona] = row
    return out


def correctness(cells: list[Cell]) -> tuple[bool, list[str]]:
    """(a), (c), (d) and (e) must return the same questions (title and space) per persona."""
    ok = True
    lines = []
    for persona in [p.label for p in PERSONAS]:
        compared = [
            c for m in ("real", "naive", "raw", "cached") if (c := _cell(cells, m, persona))
        ]
        if not compared:
            continue
        for c in compared:
            if len(c.signatures) > 1:
                ok = False
                lines.append(
                    f"!!! MISMATCH: {LABELS[c.mode]} answered {persona} with "
                    f"{len(c.signatures)} different pages during the run"
                )
        pages = {c.mode: next(iter(c.signatures), ()) for c in compared}
        names = ", ".join(LABELS[m].split()[0] for m in pages)
        reference = pages[compared[0].mode]
        if len(compared) < 2:
            lines.append(f"correctness {persona}: only {names} measured, nothing to compare")
        elif all(set(p) == set(reference) for p in pages.values()):
            same_order = all(p == reference for p in pages.values())
            same_nodes = all(c.nodes == compared[0].nodes for c in compared)
            internal = sum(1 for title, _ in reference if "#i" in title)
            lines.append(
                f"correctness {persona}: {names} return the same {len(reference)} questions "
                f"(title+space; {internal} internal, {len(reference) - internal} community)"
                + (", same order" if same_order else ", ORDER DIFFERS")
                + ("; every field equal" if same_nodes else "; some other field differs")
            )
            if not same_nodes:
                lines.extend(_field_diffs(compared))
        else:
            ok = False
            lines.append(f"!!! MISMATCH for {persona}: {names} return different questions")
            for mode, page in pages.items():
                extra = set(page) - set(reference)
                missing = set(reference) - set(page)
                if extra or missing:
                    lines.append(
                        f"!!!   {LABELS[mode]} vs {LABELS[compared[0].mode]}: "
                        f"extra {sorted(extra)[:3]} missing {sorted(missing)[:3]}"
                    )
    return ok, lines


def _field_diffs(compared: list[Cell]) -> list[str]:
    first = compared[0]
    lines = []
    for other in compared[1:]:
        for x, y in zip(first.nodes, other.nodes, strict=False):
            if x != y:
                keys = [k for k in x if x.get(k) != y.get(k)]
                where = f"{LABELS[other.mode]} differs from {LABELS[first.mode]}"
                lines.append(
                    f"    {where} on {x['title']!r}: "
                    + ", ".join(f"{k} {x.get(k)!r} vs {y.get(k)!r}" for k in keys)
                )
                break
    return lines


def verdicts(
    size: str, my_seed: dict[str, Any], cells: list[Cell], others: dict[str, dict[str, Any]]
) -> list[str]:
    """The README's targets, one line each, per persona."""
    lines = []
    table = ratios(cells)
    for persona, row in table.items():
        if "a/b" in row:
            ok = row["a/b"] <= TARGET_AUTHZ
            lines.append(
                f"target (a)/(b) <= {TARGET_AUTHZ}: {persona:<9} {row['a/b']:6.2f}  "
                + ("met" if ok else "MISSED")
            )
    for persona, row in table.items():
        if "a/d" in row:
            # Below 1 the floor's SQL is slower than the gateway's: its planner took a worse
            # walk (bench/serve.py's _IS_QUESTION tells of one), and the ratio says nothing.
            verdict = (
                "NO FLOOR: the hand-written SQL is slower than the gateway (bench/serve.py)"
                if row["a/d"] < 1
                else "met"
                if row["a/d"] <= TARGET_FLOOR
                else "MISSED"
            )
            lines.append(
                f"target (a)/(d) <= {TARGET_FLOOR}: {persona:<9} {row['a/d']:6.2f}  {verdict}"
            )
    for persona, row in table.items():
        if "e/d rps" in row:
            ok = row["e/d rps"] >= TARGET_CACHED
            lines.append(
                f"target (e)/(d) throughput >= {TARGET_CACHED:.0f}: {persona:<9} "
                f"{row['e/d rps']:6.2f}x " + ("met" if ok else "MISSED")
            )
    for persona, row in table.items():
        if "c/a" in row:
            ok = row["c/a"] >= TARGET_PUSHDOWN
            lines.append(
                f"target (c)/(a) >= {TARGET_PUSHDOWN:.0f}: {persona:<9} {row['c/a']:6.1f}x "
                + ("met" if ok else "MISSED")
            )
    # Flatness: (a) on the bigger data set over (a) on the smaller, same number of spaces.
    mine = {c.persona: c.p50 for c in cells if c.mode == "real"}
    if mine.get("employee") and mine.get("guest"):
        ratio = mine["employee"] / mine["guest"]
        lines.append(
            f"target (a) employee/guest p50 <= {TARGET_EMPLOYEE}: "
            f"{mine['employee']:7.2f} / {mine['guest']:7.2f} ms = {ratio:5.2f}  "
            + ("met" if ratio <= TARGET_EMPLOYEE else "MISSED")
        )
    mine_seeded = (my_seed["spaces"], my_seed["posts"])
    for name, other in sorted(others.items(), key=lambda kv: _seeded(kv[1]["seed"])):
        theirs_seeded = _seeded(other["seed"])
        # Flat in one dimension at a time: the other one the same.
        if theirs_seeded[0] == mine_seeded[0] and theirs_seeded[1] != mine_seeded[1]:
            over, index = "posts", 1
        elif theirs_seeded[1] == mine_seeded[1] and theirs_seeded[0] != mine_seeded[0]:
            over, index = "spaces", 0
        else:
            continue  # the same size seeded another way, or both differ: not a flatness question
        theirs = {s["persona"]: s["p50_ms"] for s in other["cells"] if s["mode"] == "real"}
        for persona, p50 in mine.items():
            if not theirs.get(persona):
                continue
            pair = sorted(
                [(theirs_seeded[index], name, theirs[persona]), (mine_seeded[index], size, p50)]
            )
            (few, small_name, small), (many, large_name, large) = pair
            ratio = large / small
            lines.append(
                f"target (a) flat over {over} ({few:,} -> {many:,}), {large_name}/{small_name} "
                f"p50 <= {TARGET_FLAT}: {persona:<9} {large:7.2f} / {small:7.2f} ms = "
                f"{ratio:5.2f}  " + ("met" if ratio <= TARGET_FLAT else "MISSED")
            )
    return lines


def _seeded(seed: dict[str, Any]) -> tuple[int, int]:
    return int(seed["spaces"]), int(seed["posts"])


def _backend(seed: dict[str, Any]) -> str:
    """The seeded stores' database: ``sqlite``, ``postgresql``, ..."""
    if "backend" in seed:  # a results file's
        return str(seed["backend"])
    return str(seed.get("internal_url") or "sqlite").split(":")[0].split("+")[0]


def other_results(out_dir: Path, seed: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """Earlier results of other sizes seeded alike: same database, split and statistics
    (flatness across two databases would measure the databases), and the same number of
    spaces or of posts."""
    alike = (seed.get("internal_share", 0.6), seed.get("analyze", False))
    found = {}
    for path in sorted(OUT_ROOT.glob(f"*/{name}")):
        if path.parent.resolve() == out_dir.resolve():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        theirs = data.get("seed", {})
        if _backend(theirs) != _backend(seed):
            continue
        if (theirs.get("internal_share"), theirs.get("analyze")) != alike:
            continue
        if theirs.get("spaces") == seed["spaces"] or theirs.get("posts") == seed["posts"]:
            found[path.parent.name] = data
    return found


def plot(cells: list[Cell], title: str, path: Path) -> None:
    """Grouped bars: p50 latency (log scale) and throughput, per persona and mode."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    personas = [p.label for p in PERSONAS if any(c.persona == p.label for c in cells)]
    modes = [m for m in MODES if any(c.mode == m for c in cells)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        xs = [j + i * width for j in range(len(personas))]
        p50 = [(_cell(cells, mode, p) or Cell(mode, p)).p50 for p in personas]
        rps = [(_cell(cells, mode, p) or Cell(mode, p)).throughput for p in personas]
        left.bar(xs, p50, width, label=LABELS[mode])
        right.bar(xs, rps, width, label=LABELS[mode])
    for ax, label in ((left, "p50 latency, ms (log)"), (right, "throughput, requests/s")):
        ax.set_xticks([j + width * (len(modes) - 1) / 2 for j in range(len(personas))])
        ax.set_xticklabels(personas)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    left.set_yscale("log")
    plain = FuncFormatter(lambda value, _pos: f"{value:g}")  # 20, not 2x10^1
    left.yaxis.set_major_formatter(plain)
    left.yaxis.set_minor_formatter(plain)
    left.tick_params(axis="y", which="minor", labelsize=7)
    left.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="small", help="a seeded data set under bench/out")
    parser.add_argument("--out", type=Path, help="the data set's directory (overrides --size)")
    parser.add_argument("--requests", type=int, default=200, help="per pass (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="throughput pass (default 4)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn workers per server (default: one per core, here %(default)s)",
    )
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="deadline of each pass (default 60)"
    )
    parser.add_argument(
        "--throughput-seconds",
        type=int,
        default=3,
        help="length of each throughput pass in whole seconds (default 3); "
        "0: --requests requests instead",
    )
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset")
    parser.add_argument(
        "--personas", default=",".join(p.label for p in PERSONAS), help="comma-separated subset"
    )
    parser.add_argument(
        "--load",
        choices=("auto", "ab", "httpx"),
        default="auto",
        help="throughput pass load generator: ApacheBench when installed (auto), or the "
        "Python client, which may itself be the bottleneck",
    )
    parser.add_argument("--plot", type=Path, help="write a PNG bar chart here")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"write the figures here as JSON (default: {RESULTS} next to the data set)",
    )
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.personas = [p.strip() for p in args.personas.split(",") if p.strip()]
    if bad := [m for m in modes if m not in MODES]:
        parser.error(f"unknown modes {bad}; choose from {', '.join(MODES)}")
    if bad := [p for p in args.personas if p not in {x.label for x in PERSONAS}]:
        parser.error(f"unknown personas {bad}")
    if args.requests < 1 or args.concurrency < 1 or args.workers < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --workers must be at least 1")
    if args.throughput_seconds < 0:
        parser.error("--throughput-seconds must be 0 or more")
    out_dir: Path = args.out or OUT_ROOT / args.size
    args.ab = load_generator(args.load)
    args.scratch = out_dir
    size = out_dir.name
    if not (out_dir / MANIFEST).exists():
        parser.error(f"{out_dir} holds no seeded data set; run python -m bench.seed first")
    seed = json.loads((out_dir / MANIFEST).read_text())
    print(
        f"data set {size}: {seed['spaces']:,} spaces, {seed['posts']:,} posts, "
        f"{seed['rows']:,} rows seeded in {seed['insert_seconds']:.1f} s "
        f"({seed['rows_per_second']:,} rows/s); internal {mib(seed['db_bytes']['internal'])}, "
        f"community {mib(seed['db_bytes']['community'])}"
        + (" (ANALYZEd)" if seed.get("analyze") else "")
        + (
            f"; internal share {seed['internal_share']}"
            if seed.get("internal_share", 0.6) != 0.6
            else ""
        )
    )
    print(
        f"latency: {args.requests} requests one at a time; throughput: "
        + (
            f"{args.throughput_seconds} s"
            if args.throughput_seconds
            else f"{args.requests} requests"
        )
        + f" from {args.concurrency} concurrent clients ({'ApacheBench' if args.ab else 'httpx'}); "
        f"{args.workers} uvicorn worker(s) per server; "
        f"warm-up {args.warmup}; each pass stops after {args.max_seconds:.0f} s" + "\n"
    )
    tokens = issue_tokens(out_dir)
    print(HEADER)
    # One server per mode, all started up front; an idle one costs nothing.
    with running(out_dir, modes, workers=args.workers) as bases:
        cells = asyncio.run(run_all(bases, tokens, args))

    print(
        "\nratios of p50 latency (lower is faster for the first mode named), "
        "and of throughput for (e)/(d):"
    )
    print(f"{'persona':<9} {'(a)/(b)':>8} {'(c)/(a)':>8} {'(a)/(d)':>8} {'(e)/(d)':>8}")
    keys = ("a/b", "c/a", "a/d", "e/d rps")
    for persona, row in ratios(cells).items():
        cols = [f"{row[k]:8.2f}" if k in row else f"{'-':>8}" for k in keys]
        print(f"{persona:<9} " + " ".join(cols))

    ok, lines = correctness(cells)
    print()
    print("\n".join(lines))
    others = other_results(out_dir, seed, RESULTS)
    print()
    print("\n".join(verdicts(size, seed, cells, others)))
    errors = sum(len(c.errors) for c in cells)
    if errors:
        print(f"\n!!! {errors} failed requests; first: {next(e for c in cells for e in c.errors)}")

    results = {
        "size": size,
        "seed": {
            "spaces": seed["spaces"],
            "posts": seed["posts"],
            "rows": seed["rows"],
            "insert_seconds": seed["insert_seconds"],
            "db_bytes": seed["db_bytes"],
            "internal_share": seed.get("internal_share", 0.6),
            "analyze": seed.get("analyze", False),
            "backend": _backend(seed),
        },
        "requests": args.requests,
        "throughput_seconds": args.throughput_seconds,
        "concurrency": args.concurrency,
        "load_generator": "ab" if args.ab else "httpx",
        "workers": args.workers,
        "cells": [c.summary() for c in cells],
        "ratios": ratios(cells),
        "correct": ok,
    }
    results_path = args.results or out_dir / RESULTS
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        plot(cells, f"questions(first: 20), {size}: {seed['posts']:,} posts", args.plot)
        print(f"\nwrote {args.plot}")
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
