"""A page on another origin, in a real headless chromium, calls the gateway as a browser app
would: ``fetch`` with the session cookie (``credentials: "include"``) and a graphql-ws
websocket. Admitted when its origin is in GATEWAY_CORS_ORIGINS; refused by the browser
(HTTP) and by the gateway (websocket) when not. Skips, or fails with ``chromium`` in
GATEWAY_TEST_REQUIRE, like the admin page's browser test.

The app's page is served by a plain HTTP server on another loopback port: another origin
(the port counts), the same site (so the login cookie, SameSite=Lax, goes with it).
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from gateway.config import Settings
from tests.http.test_admin_browser import WAIT, _require_browser
from tests.http.test_graphiql_browser import browser  # noqa: F401 (the fixture)
from tests.served import Served

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from selenium import webdriver

# The browser app: one query over HTTP, one over graphql-transport-ws; both answers (or
# how each failed) end up in #out as JSON.
APP_PAGE = b"""<!doctype html><title>app</title><pre id="out"></pre><pre id="log"></pre>
<script>
const gateway = decodeURIComponent(location.search.slice(1));
const query = "query Me { viewer { id isGuest } }";
const out = {};
function log(line) { document.getElementById("log").textContent += line + "\\n"; }
function done(key, value) {
  if (key in out) return;
  out[key] = value;
  log(key + ": " + JSON.stringify(value));
  if ("http" in out && "ws" in out) {
    document.getElementById("out").textContent = JSON.stringify(out);
  }
}
fetch(gateway + "/graphql", {
  method: "POST",
  credentials: "include",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ query }),
}).then((r) => r.json()).then((b) => done("http", b.data.viewer),
                               (e) => done("http", "refused: " + e.name));
const ws = new WebSocket(gateway.replace("http:", "ws:") + "/graphql", "graphql-transport-ws");
ws.onopen = () => { log("ws open"); ws.send(JSON.stringify({ type: "connection_init" })); };
ws.onmessage = (event) => {
  log("ws message " + event.data);
  const message = JSON.parse(event.data);
  if (message.type === "connection_ack") {
    ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query } }));
  } else if (message.type === "next") {
    done("ws", message.payload.data.viewer);
    ws.close();
  } else if (message.type === "error") {
    done("ws", "error " + JSON.stringify(message.payload));
  }
};
ws.onclose = (event) => done("ws", "closed " + event.code);
</script>"""


@pytest.fixture
def app_origin() -> Iterator[str]:
    """The browser app's origin: a static server on its own loopback port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = APP_PAGE if self.path.startswith("/?") else b"not found"
            self.send_response(200 if body is APP_PAGE else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _gateway(tmp_path: Path, origins: str) -> Served:
    _require_browser()
    environ = {"GATEWAY_DATA_DIR": str(tmp_path / "gw"), "GATEWAY_CORS_ORIGINS": origins}
    return Served(Settings.load(environ=environ))


def _run_the_app(driver: webdriver.Chrome, gateway: Served, app_origin: str) -> dict[str, object]:
    # Log in at the gateway first (its persona picker), as a user of the app would.
    driver.get(f"{gateway.http}/auth/dev?next=/healthz")
    driver.find_element(By.XPATH, "//button[normalize-space()='Erin Engel']").click()
    # The picker's own URL names /healthz too (?next=): wait for the page itself.
    WebDriverWait(driver, WAIT).until(expected_conditions.url_to_be(f"{gateway.http}/healthz"))
    driver.get(f"{app_origin}/?{quote(gateway.http)}")
    try:
        WebDriverWait(driver, WAIT).until(lambda d: d.find_element(By.ID, "out").text)
    except TimeoutException:
        console = [e["message"] for e in driver.get_log("browser")]
        pytest.fail(
            f"the app never finished at {driver.current_url}:\n{driver.page_source[:2000]}\n"
            f"console: {console}"
        )
    return json.loads(driver.find_element(By.ID, "out").text)


def test_an_app_on_a_listed_origin_calls_with_the_session_over_http_and_websocket(
    tmp_path: Path,
    app_origin: str,
    browser: webdriver.Chrome,  # noqa: F811 (the fixture)
) -> None:
    with _gateway(tmp_path, f"https://elsewhere.example,{app_origin}") as gateway:
        answers = _run_the_app(browser, gateway, app_origin)
    erin = {"id": "user:erin@corp.example", "isGuest": False}
    assert answers == {"http": erin, "ws": erin}


def test_an_app_on_an_unlisted_origin_is_refused_both_ways(
    tmp_path: Path,
    app_origin: str,
    browser: webdriver.Chrome,  # noqa: F811 (the fixture)
) -> None:
    with _gateway(tmp_path, "https://elsewhere.example") as gateway:
        answers = _run_the_app(browser, gateway, app_origin)
    # The browser hides the answer (no Access-Control-Allow-Origin); the handshake is a 403,
    # which a page sees as an abnormal close.
    assert answers == {"http": "refused: TypeError", "ws": "closed 1006"}
