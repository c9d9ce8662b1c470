"""Provider configuration: read from the TOML file, checked, and a mistake is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Condition, ConfigError, OidcProvider, RoleRule, Settings

FULL = """
[[identity.providers]]
name = "corp"
issuer = "https://login.corp.example"
audiences = ["api://gateway", "gateway-spa"]
personas = ["employee", "contractor"]
client_id = "gateway"
client_secret_env = "CORP_CLIENT_SECRET"
leeway = 30

[[identity.providers.roles]]
claim = "groups"
contains = "employees"
persona = "employee"
organisation = "Corp"

[[identity.providers.roles]]
claim = "https://corp.example/tenant"
equals = "contractors"
persona = "contractor"

[[identity.providers]]
name = "partner"
issuer = "https://idp.partner.example/"
jwks_uri = "https://idp.partner.example/keys"
audiences = ["gateway"]
algorithms = ["ES256"]
personas = ["partner"]
email_domains = ["Partner.Example"]

[[identity.providers.roles]]
claim = "email"
domain = "Partner.Example"
persona = "partner"
organisation = "Partner Ltd"

[[identity.providers]]
name = "community"
issuer = "https://login.community.example"
audiences = ["gateway"]
personas = ["member"]
roles = [{ always = "member" }]
"""


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    config = tmp_path / "gateway.toml"
    config.write_text(text)
    return Settings.load(config, environ=environ or {})


def test_providers_are_read_from_the_file(tmp_path: Path) -> None:
    settings = _load(tmp_path, FULL, {"CORP_CLIENT_SECRET": "s3cret"})
    corp, partner, community = settings.providers
    assert corp == OidcProvider(
        name="corp",
        issuer="https://login.corp.example",
        audiences=("api://gateway", "gateway-spa"),
        personas=frozenset({"employee", "contractor"}),
        roles=(
            RoleRule(persona="employee", claim="groups", contains="employees", organisation="Corp"),
            RoleRule(
                persona="contractor", claim="https://corp.example/tenant", equals="contractors"
            ),
        ),
        leeway=30,
        client_id="gateway",
        client_secret_env="CORP_CLIENT_SECRET",
        client_secret="s3cret",
    )
    assert "s3cret" not in repr(corp)
    assert corp.algorithms == ("RS256", "ES256")
    assert corp.discovery_url == "https://login.corp.example/.well-known/openid-configuration"
    assert partner.jwks_uri == "https://idp.partner.example/keys"
    assert partner.discovery_url == ("https://idp.partner.example/.well-known/openid-configuration")
    assert partner.roles == (
        RoleRule(
            persona="partner", claim="email", domain="partner.example", organisation="Partner Ltd"
        ),
    )
    assert partner.leeway == 60
    assert community.roles == (RoleRule(persona="member"),)


def test_no_providers_by_default(tmp_path: Path) -> None:
    assert Settings.load(environ={"GATEWAY_DATA_DIR": str(tmp_path)}).providers == ()


def test_a_missing_secret_variable_is_no_secret(tmp_path: Path) -> None:
    # Nothing uses the secret yet (bearer tokens need none); the browser login will.
    assert _load(tmp_path, FULL).providers[0].client_secret is None


CORP = """
[[identity.providers]]
name = "corp"
issuer = "https://login.corp.example"
audiences = ["gateway"]
personas = ["employee", "contractor"]
"""


def _corp_with(line: str) -> str:
    return CORP + line + "\n"


def _rule(rule: str) -> str:
    return CORP + f"[[identity.providers.roles]]\n{rule}\n"


# A provider that issues opaque access tokens (RFC 7662 introspection).
INTROSPECTING = _corp_with(
    'introspection = true\nclient_id = "gateway"\nclient_secret_env = "CORP_CLIENT_SECRET"\n'
    'introspection_endpoint = "https://login.corp.example/oauth/introspect"'
)


BAD = [
    (_corp_with('scope = "openid"'), "identity.providers[corp].scope in", "unknown setting"),
    (_corp_with('algorithms = ["none"]'), "identity.providers[corp].algorithms", "'none'"),
    (
        _corp_with('algorithms = ["RS256", "HS256"]'),
        "identity.providers[corp].algorithms",
        "'HS256' is a shared-secret algorithm",
    ),
    (_corp_with('algorithms = ["RS257"]'), "algorithms", "'RS257' is not a signature algorithm"),
    (_corp_with("algorithms = []"), "algorithms", "expected a non-empty list"),
    (
        CORP.replace('["employee", "contractor"]', '["employee", "admin"]'),
        "identity.providers[corp].personas",
        "'admin' is not a persona",
    ),
    (
        CORP.replace('["employee", "contractor"]', '["space_owner"]'),
        "identity.providers[corp].personas",
        "'space_owner' is not a persona",
    ),
    (
        _rule('claim = "groups"\ncontains = "admins"\npersona = "security_admin"'),
        "identity.providers[corp].roles[1].persona",
        "grants 'security_admin', which this provider may not produce",
    ),
    (
        _rule('always = "partner"'),
        "identity.providers[corp].roles[1].always",
        "grants 'partner', which this provider may not produce",
    ),
    (
        _rule('claim = "groups"\ncontains = "x"\npersona = "wizard"'),
        "roles[1].persona",
        "'wizard' is not a persona",
    ),
    (
        _rule('claim = "groups"\ncontains = "x"\nequals = "y"\npersona = "employee"'),
        "identity.providers[corp].roles[1] in",
        "expected exactly one of contains, equals, domain",
    ),
    (_rule('claim = "groups"\ncontains = "x"'), "roles[1].persona", "required"),
    (_rule('contains = "x"\npersona = "employee"'), "roles[1].claim", "required"),
    (
        _rule('claim = "upn"\ndomain = "corp.example"\npersona = "employee"'),
        "roles[1].claim",
        "a domain rule matches the verified email",
    ),
    (
        _rule('claim = "email"\ndomain = "@corp.example"\npersona = "employee"'),
        "roles[1].domain",
        "expected a domain",
    ),
    (
        _rule('always = "employee"\nclaim = "groups"'),
        "roles[1] in",
        "an 'always' rule takes no claim",
    ),
    (_rule('claim = "groups"\nmatches = "x"\npersona = "employee"'), "roles[1].matches", "unknown"),
    (
        CORP + CORP.replace("https://login.corp.example", "https://other.example"),
        "identity.providers[corp].name",
        "two providers are named 'corp'",
    ),
    (
        CORP + CORP.replace('name = "corp"', 'name = "corp2"'),
        "identity.providers[corp2].issuer",
        "provider 'corp' has the same issuer",
    ),
    (
        CORP.replace("https://login.corp.example", "http://login.corp.example"),
        "identity.providers[corp].issuer",
        "is plain http; use https",
    ),
    (
        CORP.replace("https://login.corp.example", "login.corp.example"),
        "identity.providers[corp].issuer",
        "expected an https:// URL",
    ),
    (
        _corp_with('jwks_uri = "ftp://keys.corp.example"'),
        "identity.providers[corp].jwks_uri",
        "expected an https:// URL",
    ),
    (CORP.replace('audiences = ["gateway"]\n', ""), "[corp].audiences", "required"),
    (CORP.replace('audiences = ["gateway"]', 'audiences = "gateway"'), "audiences", "list"),
    (CORP.replace('name = "corp"\n', ""), "identity.providers[1].name", "required"),
    (CORP.replace('name = "corp"', 'name = "Corp IdP"'), "providers[1].name", "lower-case"),
    (_corp_with('client_secret = "hunter2"'), "[corp].client_secret in", "client_secret_env"),
    (_corp_with('client_secret_env = "not a name"'), "client_secret_env", "environment variable"),
    (_corp_with("leeway = 3600"), "[corp].leeway", "expected 0 to 300 seconds"),
    (_corp_with('leeway = "1m"'), "[corp].leeway", "whole number of seconds"),
    (_corp_with('roles = "employee"'), "[corp].roles", "expected an array of tables"),
    (
        '[identity.providers]\nname = "corp"\n',
        "identity.providers in",
        "expected an array of tables",
    ),
    (_corp_with('introspection = "yes"'), "[corp].introspection in", "expected true or false"),
    (
        _corp_with("introspection = true"),
        "[corp].client_id in",
        "required with introspection = true",
    ),
    (
        _corp_with('introspection = true\nclient_id = "gw"'),
        "[corp].client_secret_env in",
        "required with introspection = true",
    ),
    (
        _corp_with('introspection = true\nclient_id = "gw"\nclient_secret_env = "UNSET_SECRET"'),
        "[corp].client_secret_env in",
        "the environment variable UNSET_SECRET is not set",
    ),
    (
        _corp_with('introspection_endpoint = "https://login.corp.example/introspect"'),
        "[corp].introspection_endpoint in",
        "introspection is off (add introspection = true)",
    ),
    (
        _corp_with("introspection_cache_ttl = 30"),
        "[corp].introspection_cache_ttl in",
        "introspection is off",
    ),
    (
        INTROSPECTING.replace("https://login.corp.example/oauth/introspect", "http://corp/i"),
        "[corp].introspection_endpoint in",
        "is plain http; use https",
    ),
    (
        INTROSPECTING.replace('"https://login.corp.example/oauth/introspect"', "true"),
        "[corp].introspection_endpoint in",
        "expected a URL",
    ),
    (
        INTROSPECTING + "introspection_cache_ttl = 3600\n",
        "[corp].introspection_cache_ttl in",
        "expected 0 to 300 seconds",
    ),
    (
        INTROSPECTING + 'introspection_cache_ttl = "1m"\n',
        "[corp].introspection_cache_ttl in",
        "whole number of seconds",
    ),
    (
        _corp_with('accepted_clients = ["mobile-app"]'),
        "[corp].accepted_clients in",
        "introspection is off (add introspection = true)",
    ),
    (
        INTROSPECTING + 'accepted_clients = "mobile-app"\n',
        "[corp].accepted_clients in",
        "expected a non-empty list of strings",
    ),
    (INTROSPECTING + "accepted_clients = []\n", "[corp].accepted_clients in", "non-empty"),
    (INTROSPECTING + 'accepted_clients = [""]\n', "[corp].accepted_clients in", "strings"),
    (_corp_with('userinfo = "yes"'), "[corp].userinfo in", "expected true or false"),
    (
        _corp_with('userinfo_endpoint = "https://login.corp.example/userinfo"'),
        "[corp].userinfo_endpoint in",
        "userinfo is off (add userinfo = true)",
    ),
    (
        _corp_with('userinfo = true\nuserinfo_endpoint = "http://login.corp.example/me"'),
        "[corp].userinfo_endpoint in",
        "is plain http; use https",
    ),
    (
        _rule('all = [{ claim = "groups", contains = "x" }]'),
        "roles[1].persona in",
        "required: the persona this rule grants",
    ),
    (_rule('all = []\npersona = "employee"'), "roles[1].all in", "non-empty list of conditions"),
    (_rule('all = "groups"\npersona = "employee"'), "roles[1].all in", "list of conditions"),
    (
        _rule(
            'all = [{ claim = "groups", contains = "x", persona = "employee" }]\n'
            'persona = "employee"'
        ),
        "roles[1].all[1].persona in",
        "a condition of 'all' grants nothing itself",
    ),
    (
        _rule(
            'all = [{ claim = "groups", contains = "x" }, { claim = "g", organisation = "C" }]\n'
            'persona = "employee"'
        ),
        "roles[1].all[2].organisation in",
        "put persona and organisation on the 'all' rule",
    ),
    (
        _rule('all = [{ always = "employee" }]\npersona = "employee"'),
        "roles[1].all[1].always in",
        "a condition is a claim and one of contains, equals, domain",
    ),
    (
        _rule('all = [{ claim = "groups" }]\npersona = "employee"'),
        "roles[1].all[1] in",
        "expected exactly one of contains, equals, domain",
    ),
    (
        _rule('all = [{ claim = "upn", domain = "corp.example" }]\npersona = "employee"'),
        "roles[1].all[1].claim in",
        "a domain rule matches the verified email",
    ),
    (
        _rule('all = [{ claim = "groups", contains = "x" }]\nclaim = "g"\npersona = "employee"'),
        "roles[1] in",
        "an 'all' rule takes no claim (put it in a condition)",
    ),
    (
        _rule('all = [{ claim = "groups", contains = "x" }]\npersona = "security_admin"'),
        "roles[1].persona in",
        "grants 'security_admin', which this provider may not produce",
    ),
    (
        _rule('all = [{ claim = "email", domain = "partner.example" }]\npersona = "employee"'),
        "roles[1].all[1].domain in",
        "not in this provider's email_domains",
    ),
]


@pytest.mark.parametrize(("toml", "where", "message"), BAD)
def test_bad_provider_settings_name_themselves(
    tmp_path: Path, toml: str, where: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, toml)
    text = str(raised.value)
    assert where in text
    assert message in text
    assert "\n" not in text
    assert "hunter2" not in text


def test_introspection_settings_are_read(tmp_path: Path) -> None:
    environ = {"CORP_CLIENT_SECRET": "s3cret"}
    (corp,) = _load(tmp_path, INTROSPECTING + "introspection_cache_ttl = 0\n", environ).providers
    assert corp.introspection is True
    assert corp.introspection_endpoint == "https://login.corp.example/oauth/introspect"
    assert corp.introspection_cache_ttl == 0  # every request asks the provider
    assert corp.client_secret == "s3cret"
    # Without an endpoint it is discovered; the cache keeps answers for a minute.
    discovered = INTROSPECTING.replace(
        'introspection_endpoint = "https://login.corp.example/oauth/introspect"', ""
    )
    (corp,) = _load(tmp_path, discovered, environ).providers
    assert (corp.introspection_endpoint, corp.introspection_cache_ttl) == (None, 60)
    # Off by default: only JWTs.
    (plain,) = _load(tmp_path, CORP).providers
    assert plain.introspection is False


def test_the_readme_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Identity providers", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = _load(tmp_path, example, {"GATEWAY_CORP_CLIENT_SECRET": "from-the-environment"})
    assert [p.name for p in settings.providers] == ["corp", "partner-ltd", "community"]
    assert settings.providers[0].client_secret == "from-the-environment"
    assert settings.dev_issuer is False


def test_the_readme_introspection_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Opaque access tokens (token introspection)", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    environ = {"GATEWAY_SUPPLIER_CLIENT_SECRET": "from-the-environment"}
    (supplier,) = _load(tmp_path, example, environ).providers
    assert supplier.introspection is True
    assert supplier.introspection_endpoint == "https://sso.supplier.example/oauth2/introspect"
    assert supplier.introspection_cache_ttl == 30
    assert supplier.accepted_clients == ("supplier-portal-web",)
    assert supplier.client_secret == "from-the-environment"
    with pytest.raises(ConfigError, match="GATEWAY_SUPPLIER_CLIENT_SECRET is not set"):
        _load(tmp_path, example)


def test_a_domain_rule_needs_the_domain_in_email_domains(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[identity.providers]]\nname = "partner"\nissuer = "https://idp.partner.example"\n'
        'audiences = ["gw"]\npersonas = ["partner"]\n'
        '[[identity.providers.roles]]\nclaim = "email"\ndomain = "partner.example"\n'
        'persona = "partner"\n'
    )
    with pytest.raises(ConfigError) as raised:
        Settings.load(config, environ={})
    assert "roles[1].domain" in str(raised.value)
    assert "email_domains" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_all_rule_is_read(tmp_path: Path) -> None:
    (corp,) = _load(
        tmp_path,
        CORP.replace("personas =", 'email_domains = ["corp.example"]\npersonas =')
        + "[[identity.providers.roles]]\n"
        'all = [{ claim = "groups", contains = "employees" },'
        ' { claim = "email", domain = "Corp.Example" }]\n'
        'persona = "employee"\norganisation = "Corp"\n',
    ).providers
    assert corp.roles == (
        RoleRule(
            persona="employee",
            organisation="Corp",
            all=(
                Condition(claim="groups", contains="employees"),
                Condition(claim="email", domain="corp.example"),
            ),
        ),
    )


def test_accepted_clients_and_userinfo_are_read(tmp_path: Path) -> None:
    environ = {"CORP_CLIENT_SECRET": "s3cret"}
    toml = INTROSPECTING + 'accepted_clients = ["mobile-app", "desktop-app", "mobile-app"]\n'
    (corp,) = _load(tmp_path, toml + "userinfo = true\n", environ).providers
    assert corp.accepted_clients == ("mobile-app", "desktop-app")
    assert (corp.userinfo, corp.userinfo_endpoint) == (True, None)  # discovered
    toml += 'userinfo = true\nuserinfo_endpoint = "https://login.corp.example/me"\n'
    (corp,) = _load(tmp_path, toml, environ).providers
    assert corp.userinfo_endpoint == "https://login.corp.example/me"
    (plain,) = _load(tmp_path, CORP).providers
    assert (plain.accepted_clients, plain.userinfo) == ((), False)


def _readme_example(heading: str, marker: str) -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split(heading, 1)[1]
    return next(block for block in section.split("```toml\n")[1:] if marker in block).split(
        "```", 1
    )[0]


def test_the_readme_all_rule_example_loads(tmp_path: Path) -> None:
    example = _readme_example("## Identity providers", "# groups contains employees AND")
    (corp,) = _load(tmp_path, example).providers
    employee, partner = corp.roles
    assert employee.all == (
        Condition(claim="groups", contains="employees"),
        Condition(claim="email", domain="corp.example"),
    )
    assert (employee.persona, partner.persona) == ("employee", "partner")


def test_the_readme_userinfo_example_loads(tmp_path: Path) -> None:
    example = _readme_example("### Access tokens without identity claims (userinfo)", "userinfo")
    (corp,) = _load(tmp_path, example).providers
    assert corp.userinfo is True
    assert corp.userinfo_endpoint == "https://login.corp.example/oauth2/userinfo"
