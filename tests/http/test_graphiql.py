"""GraphiQL from the gateway's own files: the page names no other host, every file it
loads is served with its media type, and the files are the pinned npm release."""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.config import Settings
from gateway.http import graphiql
from gateway.http.app import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from starlette.applications import Starlette

REPO = Path(__file__).resolve().parents[2]
FETCH = REPO / "scripts" / "fetch-graphiql"
MANIFEST = json.loads((graphiql.FILES / "assets.json").read_text(encoding="utf-8"))
HTML = {"Accept": "text/html"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


class _References(HTMLParser):
    """Every URL the page loads: scripts, stylesheets, icons (and any other src/href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value is not None:
                self.urls.append((tag, value))


def _references(page: str) -> list[tuple[str, str]]:
    parser = _References()
    parser.feed(page)
    return parser.urls


def _require_fetched() -> None:
    missing = [n for n, p in graphiql.ASSETS.items() if not p.is_file()]
    if missing:
        pytest.fail(f"GraphiQL's files were never fetched ({missing}): run scripts/fetch-graphiql")


async def test_the_page_loads_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    _require_fetched()
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no other host
    urls = _references(page.text)
    assert {tag for tag, _ in urls} == {"link", "script"}
    assert len([u for t, u in urls if t == "script"]) == 4  # react, react-dom, graphiql, ours
    for _, url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) in {("", ""), ("data", "")}, url
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy
    assert "connect-src 'self'" in policy and "unpkg" not in policy


async def test_every_file_the_page_loads_is_served_with_its_media_type(
    client: httpx.AsyncClient,
) -> None:
    _require_fetched()
    page = await client.get("/graphql", headers=HTML)
    media = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    served = set()
    for _, url in _references(page.text):
        if url.startswith("data:"):
            continue
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-type"] == media[Path(url).suffix], url
        assert answer.headers["x-content-type-options"] == "nosniff"
        name = url.removeprefix(graphiql.PREFIX)
        assert answer.content == graphiql.ASSETS[name].read_bytes()
        served.add(name)
        # Revalidated, not fetched again: a browser's second load costs a 304.
        again = await client.get(url, headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304
    assert {"graphiql.min.js", "graphiql.min.css", "react.production.min.js"} <= served


async def test_the_licences_are_served_beside_the_files(client: httpx.AsyncClient) -> None:
    _require_fetched()
    for package in MANIFEST["packages"]:
        licence = next(d for s, d in package["files"].items() if s.endswith("LICENSE"))
        answer = await client.get(f"{graphiql.PREFIX}{licence}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert "MIT License" in answer.text and "Permission is hereby granted" in answer.text


def test_the_fetched_files_are_the_pinned_release() -> None:
    """vendor/ was written by scripts/fetch-graphiql from exactly the pinned tarballs, and
    nothing in them loads from the network at run time (fonts are data: URLs)."""
    _require_fetched()
    stamp = (graphiql.VENDOR / "VERSIONS").read_text(encoding="utf-8")
    assert stamp == "".join(
        f"{p['name']}@{p['version']} {p['integrity']}\n" for p in MANIFEST["packages"]
    )
    css = (graphiql.VENDOR / "graphiql.min.css").read_text(encoding="utf-8")
    assert "@import" not in css and "url(http" not in css and "url(//" not in css


async def test_unknown_files_are_not_found(client: httpx.AsyncClient) -> None:
    for path in ("nothing.js", "VERSIONS", "assets.json", "..%2Fgraphiql.py", ".gitignore"):
        answer = await client.get(f"{graphiql.PREFIX}{path}")
        assert answer.status_code == 404, path


async def test_missing_files_say_what_to_run(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(graphiql.ASSETS, "graphiql.min.js", tmp_path / "never-fetched.js")
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 503
    assert "graphiql.min.js" in page.text and "scripts/fetch-graphiql" in page.text
    assert (await client.get(f"{graphiql.PREFIX}graphiql.min.js")).status_code == 404


async def test_with_graphiql_off_neither_page_nor_files(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_GRAPHIQL": "false"}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            assert "GraphiQL" not in (await c.get("/graphql", headers=HTML)).text
            assert (await c.get(f"{graphiql.PREFIX}gateway-graphiql.js")).status_code == 404


# --- scripts/fetch-graphiql ------------------------------------------------------------------


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A registry on loopback answering whatever tarballs the test puts in its dict."""
    tarballs: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = tarballs.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tarballs
    finally:
        server.shutdown()
        server.server_close()


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _fetch(registry: str, into: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "npm_config_registry": registry}
    return subprocess.run(  # noqa: S603 (our interpreter and our script)
        [sys.executable, str(FETCH), "--into", str(into)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_a_tarball_that_does_not_match_its_pin_is_refused(
    registry: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, tarballs = registry
    react = MANIFEST["packages"][0]
    assert react["name"] == "react"
    tarballs[f"/react/-/react-{react['version']}.tgz"] = _tarball(
        {name: b"alert('not react')" for name in react["files"]}
    )
    into = tmp_path / "vendor"
    done = _fetch(base, into)
    assert done.returncode == 1
    assert "does not match its pinned integrity" in done.stderr
    assert "nothing was changed" in done.stderr
    assert not into.exists()
    assert list(tmp_path.iterdir()) == []  # no staging directory left behind


def test_an_unreachable_registry_is_one_line(tmp_path: Path) -> None:
    done = _fetch("http://127.0.0.1:9", tmp_path / "vendor")
    assert done.returncode == 1
    assert done.stderr.startswith("fetch-graphiql: cannot download GraphiQL's files: ")
    assert done.stderr.count("\n") == 1


def test_the_pins_are_npm_integrity_strings() -> None:
    for package in MANIFEST["packages"]:
        algorithm, _, digest = package["integrity"].partition("-")
        assert algorithm == "sha512" and len(digest) == 88, package["name"]
