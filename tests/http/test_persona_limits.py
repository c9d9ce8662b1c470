"""Demand limits per persona, through the app over HTTP: rates and query cost.

``ratelimit.persona_rates`` gives personas rates of their own (the most generous of a
caller's personas wins; unlisted personas keep ``ratelimit.rate``/``guest_rate``), and
``graphql.max_cost_by_persona`` limits of their own (the highest wins; else
``graphql.max_cost``). Budgets are per hour, so no test depends on how fast it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.config import ConfigError, Settings
from tests.http.test_ratelimit import VIEWER, assert_rate_limited, client, gateway, spend

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.applications import Starlette

SPACES = {"query": "{ spaces(first: 5) { edges { node { name } } } }", "extensions": {"cost": True}}


def token(app: Starlette, email: str, *roles: str) -> dict[str, str]:
    issuer = app.state.services.dev_issuer
    issued = issuer.issue(email=email, name=email.split("@")[0], roles=list(roles))
    return {"Authorization": f"Bearer {issued}"}


async def test_personas_have_rates_of_their_own(tmp_path: Path) -> None:
    by_persona = "partner=2/hour, guest=3/hour, employee=off"
    async with (
        gateway(tmp_path, GATEWAY_RATE_LIMIT_BY_PERSONA=by_persona) as app,
        client(app) as c,
    ):
        paula = token(app, "paula@partner.example", "partner")
        await spend(c, 2, paula)
        refused = await c.post("/graphql", json=VIEWER, headers=paula)
        assert_rate_limited(refused)
        assert "2/hour" in refused.json()["errors"][0]["message"]
        # Guests (by address) get theirs; employees none at all.
        await spend(c, 3)
        assert_rate_limited(await c.post("/graphql", json=VIEWER))
        await spend(c, 12, token(app, "erin@corp.example", "employee"))
        # A persona not listed keeps ratelimit.rate (5/hour here).
        carl = token(app, "carl@contractor.example", "contractor")
        await spend(c, 5, carl)
        assert_rate_limited(await c.post("/graphql", json=VIEWER, headers=carl))
        # Several personas: the most generous one's rate.
        both = token(app, "pat@corp.example", "partner", "employee")
        await spend(c, 8, both)


async def test_personas_have_cost_limits_of_their_own(tmp_path: Path) -> None:
    async with (
        gateway(
            tmp_path,
            GATEWAY_RATE_LIMIT="off",
            GATEWAY_MAX_COST_BY_PERSONA="guest=10,external=1000",
        ) as app,
        client(app) as c,
    ):
        employee = (
            await c.post(
                "/graphql", json=SPACES, headers=token(app, "erin@corp.example", "employee")
            )
        ).json()
        assert "errors" not in employee, employee
        cost = employee["extensions"]["cost"]
        assert cost["limit"] == 250_000 and 10 < cost["requested"] <= 1000
        partner = await c.post(
            "/graphql", json=SPACES, headers=token(app, "paula@partner.example", "partner")
        )
        assert partner.json()["extensions"]["cost"]["limit"] == 1000
        guest = (await c.post("/graphql", json=SPACES)).json()
        (error,) = guest["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert error["extensions"]["limit"] == 10
        assert error["extensions"]["cost"] == cost["requested"]
        assert "data" not in guest or guest["data"] is None
        # Within their limit, guests are answered.
        small = (await c.post("/graphql", json=VIEWER)).json()
        assert "errors" not in small, small


def test_per_persona_settings(tmp_path: Path) -> None:
    defaults = Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    assert defaults.max_cost_by_persona == () and defaults.rate_limit_by_persona == ()
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[graphql]\nmax_cost_by_persona = { external = 5000, partner = 20000 }\n"
        '[ratelimit]\npersona_rates = { employee = "off", partner = "60/minute" }\n'
    )
    settings = Settings.load(config, environ={"GATEWAY_DATA_DIR": str(tmp_path)})
    costs = dict(settings.max_cost_by_persona)
    # "external" stands for every non-staff persona; one named on its own wins over it.
    assert costs == {
        "guest": 5000,
        "member": 5000,
        "trusted_customer": 5000,
        "contractor": 5000,
        "partner": 20000,
    }
    assert dict(settings.rate_limit_by_persona) == {"employee": None, "partner": "60/minute"}
    from_env = Settings.load(
        config,
        environ={"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_MAX_COST_BY_PERSONA": "guest=7"},
    )
    assert from_env.max_cost_by_persona == (("guest", 7),)
    for env, value, reason in (
        ("GATEWAY_MAX_COST_BY_PERSONA", "guest", "expected persona=value pairs"),
        ("GATEWAY_MAX_COST_BY_PERSONA", "wizard=5", "unknown persona 'wizard'"),
        ("GATEWAY_MAX_COST_BY_PERSONA", "guest=0", "at least 1"),
        ("GATEWAY_RATE_LIMIT_BY_PERSONA", "partner=lots", "a rate such as 600/minute"),
    ):
        with pytest.raises(ConfigError, match=f"{env}: .*{reason}"):
            Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path), env: value})
