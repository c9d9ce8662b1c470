"""The admin page in a real headless browser against a real gateway process.

``gateway serve`` runs the zero-config demo (SQLite, the development issuer) on a free
port, with its own data directory and a copy of policies.csv; Debian's chromium, driven
through Debian's chromedriver by selenium, logs in as sam through the demo's persona
picker, sees inline validation flag a bad line, previews an edit, applies it and finds it
in the audit log, sees a change that breaks an invariant refused naming it; then logs
out, logs in as paula (a partner) and is refused.

Without /usr/bin/chromium and /usr/bin/chromedriver (``apt-get install chromium
chromium-driver``; elsewhere set GATEWAY_TEST_CHROMIUM and GATEWAY_TEST_CHROMEDRIVER) the
test skips and says why; with ``chromium`` in GATEWAY_TEST_REQUIRE (CI) it fails instead.
Selenium Manager is never asked to download a browser or a driver: both paths are given.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from gateway.config import REPO_POLICY
from tests.databases import REQUIRED
from tests.replicas import stop

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GATEWAY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
GRANT = "p, partner, internal/open/*, space, read, allow"
REPO_INVARIANTS = REPO_POLICY.with_name("policy-invariants.csv")
PARTNER = "never, partner, internal/restricted/*, space, read"
START_TIMEOUT = 60.0  # seconds for the gateway to answer /healthz (first start builds the demo)
WAIT = 20.0  # seconds for anything on a page to appear


def _require_browser() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if not missing:
        return
    reason = (
        f"no browser to test the admin page with: {', '.join(missing)} missing "
        "(apt-get install chromium chromium-driver, or set GATEWAY_TEST_CHROMIUM and "
        "GATEWAY_TEST_CHROMEDRIVER)"
    )
    if "chromium" in REQUIRED:
        pytest.fail(f"required browser missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _browser_installed() -> None:
    """Skip (or fail) before a gateway is started for nothing."""
    _require_browser()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    """A ``gateway serve`` process of the zero-config demo; its base URL."""
    policy = tmp_path / "policies.csv"
    shutil.copy(REPO_POLICY, policy)
    shutil.copy(REPO_INVARIANTS, tmp_path / REPO_INVARIANTS.name)  # read beside the policy
    # Nothing of the caller's configuration: the zero-config demo, its files in tmp_path.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_POLICY_FILE": str(policy),
        # The code under test, whichever checkout pytest runs from.
        "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])]),
    }
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_for_start(process, log)
    finally:
        stop(process)
    assert REPO_POLICY.read_bytes() != policy.read_bytes()  # the change went to the copy


def _wait_for_start(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    base = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited ({process.returncode}):\n{log.read_text()}")
        if base is None:
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", log.read_text())
            base = found.group(1) if found else None
        if base is not None:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return base
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    pytest.fail(f"the gateway did not answer /healthz within {START_TIMEOUT}s:\n{log.read_text()}")


@contextlib.contextmanager
def chromium(tmp_path: Path, *extra: str) -> Iterator[webdriver.Chrome]:
    """Debian's headless chromium through its chromedriver, with the console's messages
    kept (a script error, a file that did not load, a CSP refusal are all SEVERE);
    ``extra`` arguments after the shared ones."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # containers and CI run as root, where the sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *extra,
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path) as driver:
        yield driver


def _wait(driver: webdriver.Chrome) -> WebDriverWait[webdriver.Chrome]:
    return WebDriverWait(driver, WAIT)


def _text_in(driver: webdriver.Chrome, css: str, text: str) -> None:
    _wait(driver).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text),
        f"{text!r} never appeared in {css}",
    )


def _log_in_as(driver: webdriver.Chrome, name: str) -> None:
    """On the persona picker: click that person's button."""
    _wait(driver).until(expected_conditions.url_contains("/auth/dev"))
    driver.find_element(By.XPATH, f"//button[normalize-space()='{name}']").click()


def test_sam_edits_the_policy_in_a_browser_and_a_partner_is_refused(
    gateway: str, browser: webdriver.Chrome
) -> None:
    driver = browser
    # A guest is sent to log in, and comes back to the page.
    driver.get(f"{gateway}/admin")
    _log_in_as(driver, "Sam Sato")
    _text_in(driver, "#version h1", "Version 1 in force")
    assert "user:sam@corp.example" in driver.find_element(By.CSS_SELECTOR, ".bar").text

    # Inline validation flags a bad line as it is typed, before any preview.
    add = driver.find_element(By.ID, "add")
    add.send_keys("p, partner, internal/open/*, space, raed")
    _text_in(driver, "#add-findings li.error", "line 1: error: unknown action 'raed'")
    assert add.get_attribute("aria-invalid") == "true"
    add.clear()
    add.send_keys(GRANT)
    _text_in(driver, "#validate-status", "checked: no errors")
    assert driver.find_elements(By.CSS_SELECTOR, "#add-findings li") == []
    assert add.get_attribute("aria-invalid") == "false"
    driver.find_element(By.ID, "reason").send_keys("partner pilot")

    # Preview: the impact, and nothing changed yet.
    driver.find_element(By.ID, "preview").click()
    _text_in(driver, "#summary", "partner gains read on 2 internal spaces")
    assert f"+ {GRANT}" in driver.find_element(By.ID, "diff").text

    # Apply: back on the page, version 2 in force, the change in the audit log.
    driver.find_element(By.ID, "apply").click()
    _text_in(driver, "#applied", "Policy version 2")
    _text_in(driver, "#version h1", "Version 2 in force")
    audit = driver.find_element(By.ID, "audit-log").text
    assert "policy_apply" in audit and "user:sam@corp.example" in audit
    assert f"+ {GRANT}" in audit
    rows = driver.find_element(By.ID, "policy-lines").text
    assert GRANT in rows

    # The invariants panel: each shipped one holds. A change breaking one is refused in the
    # preview, naming the invariant, a principal and a space; there is nothing to apply.
    assert PARTNER in driver.find_element(By.ID, "invariants").text
    assert "0 broken" in driver.find_element(By.ID, "invariants").text
    add = driver.find_element(By.ID, "add")
    add.send_keys("p, partner, internal/restricted/*, space, read, allow")
    _text_in(driver, "#validate-status", "checked: no errors")
    driver.find_element(By.ID, "preview").click()
    _text_in(driver, "#refusals", f"breaks invariant '{PARTNER}'")
    refusal = driver.find_element(By.ID, "refusals").text
    assert "persona:partner" in refusal and "internal/restricted/" in refusal
    assert PARTNER in driver.find_element(By.ID, "broken-invariants").text
    assert driver.find_elements(By.ID, "apply") == []
    driver.get(f"{gateway}/admin")
    _text_in(driver, "#version h1", "Version 2 in force")

    # Log out; as paula (a partner) the page is refused and shows nothing of the policy.
    driver.find_element(By.ID, "logout").click()
    _log_in_as(driver, "Paula Perez")
    _text_in(driver, "main h1", "Not for you")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "security admins" in page
    assert "partner, internal" not in driver.page_source and "policy_apply" not in page
    assert driver.find_elements(By.ID, "edit-form") == []

    # No script error and nothing the page's CSP blocked. The 403 itself is logged as a failed
    # load, and so is the favicon the browser asks every site for (the gateway has none).
    problems = [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE"
        and "403" not in e["message"]
        and "/favicon.ico" not in e["message"]
    ]
    assert problems == []
