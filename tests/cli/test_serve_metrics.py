"""``gateway serve --workers 2`` for an operator: /metrics sums what every worker counted
(prometheus-client's multiprocess mode), and JSON log lines carry each request's id.

A real server in its own processes, asked over real sockets. The deadline of the wait
for start-up only turns a hang into a failure; nothing is timed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.replicas import free_port

REPO = Path(__file__).resolve().parents[2]


def _healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "gateway_http_requests_total" and labels["route"] == "/healthz":
                return sample.value
    return 0.0


def test_workers_share_their_metrics_and_log_request_ids_as_json(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GATEWAY_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env |= {
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_LOG_FORMAT": "json",
        "GATEWAY_SHUTDOWN_TIMEOUT": "1",
        "PYTHONPATH": str(REPO),
        "TMPDIR": str(tmp_path),  # where serve makes (and removes) the metrics directory
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while log.read_text().count("Application startup complete") < 2:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"the workers did not start:\n{log.read_text()}")
            time.sleep(0.1)
        [metrics_dir] = list(tmp_path.glob("gateway-metrics-*"))
        sent = [f"probe-{n}" for n in range(12)]
        for request_id in sent:
            # A fresh connection each time, so that both workers get some of them.
            answer = httpx.get(f"{base}/healthz", headers={"X-Request-ID": request_id})
            assert answer.status_code == 200
            assert answer.headers["x-request-id"] == request_id
        # Whichever worker answers the scrape, the count is every worker's.
        for _ in range(4):
            scraped = httpx.get(f"{base}/metrics")
            assert scraped.status_code == 200
            assert _healthz_count(scraped.text) == len(sent)
        # Each worker writes its own files there (its start-up's store calls, at least).
        workers = set(re.findall(r"Started server process \[(\d+)\]", log.read_text()))
        assert len(workers) == 2
        for pid in workers:
            assert (metrics_dir / f"histogram_{pid}.db").is_file()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert not metrics_dir.exists()
    lines = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    access = {r["request_id"]: r for r in lines if r["logger"] == "uvicorn.access"}
    for request_id in sent:
        assert "GET /healthz" in access[request_id]["message"]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in lines)
