"""GraphiQL in a real headless chromium with no internet: it renders from the gateway's own
files, runs a query as the demo persona chosen at /auth/dev and shows the answer, and its
Content-Security-Policy refuses nothing it needs (a subscription opens the websocket).

chromium resolves no host but 127.0.0.1 (``--host-resolver-rules``), so a script or
stylesheet from a CDN would fail to load and GraphiQL would stay at "Loading". Skips, or
fails with ``chromium`` in GATEWAY_TEST_REQUIRE, like the admin page's browser test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from gateway.config import Settings
from tests.http.test_admin_browser import WAIT, _require_browser, chromium
from tests.served import Served

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from selenium import webdriver

SUBSCRIPTION = "subscription Inbox { notificationAdded { kind actorName } }"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    _require_browser()
    with Served(Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path / "gw")})) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    # Offline: every host but the gateway's fails to resolve.
    with chromium(tmp_path, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1") as driver:
        yield driver


def _severe(driver: webdriver.Chrome) -> list[str]:
    """SEVERE console lines, but for the persona picker's favicon (it names none, so
    chromium asks for /favicon.ico, a 404, at a moment of its choosing)."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "/favicon.ico " not in e["message"]
    ]


def _run(driver: webdriver.Chrome) -> None:
    WebDriverWait(driver, WAIT).until(
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button")),
        "GraphiQL never rendered its run button",
    ).click()


def test_graphiql_renders_offline_and_answers_as_the_chosen_persona(
    served: Served, browser: webdriver.Chrome
) -> None:
    driver = browser
    driver.get(f"{served.http}/auth/dev?next=/graphql")
    driver.find_element(By.XPATH, "//button[normalize-space()='Erin Engel']").click()
    _run(driver)  # the welcome page's query: the viewer
    WebDriverWait(driver, WAIT).until(
        expected_conditions.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".result-window"), '"displayName": "Erin Engel"'
        ),
        "the answer never showed",
    )
    result = driver.find_element(By.CSS_SELECTOR, ".result-window").text
    assert '"id": "user:erin@corp.example"' in result and '"isGuest": false' in result
    assert driver.title == "GraphiQL: Collaboration Access Gateway"
    assert _severe(driver) == []

    # A subscription goes over graphql-ws to ws://…/graphql, which the CSP must allow.
    driver.get(f"{served.http}/graphql?q={quote(SUBSCRIPTION)}")
    _run(driver)
    WebDriverWait(driver, WAIT).until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, ".graphiql-execute-button[aria-label^='Stop']")
        ),
        "the subscription never started",
    )
    assert _severe(driver) == []
