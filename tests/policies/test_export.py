"""The canonical policy text and its hash: the same policy, however written, has one version."""

from __future__ import annotations

from pathlib import Path

from gateway.policies.export import canonical, digest, export
from gateway.policies.policy import Policy

DEFAULT_POLICY = Path(__file__).parents[2] / "policies.csv"

TEXT = """\
# a header
p, guest, community/public/*, space, read, allow
g, member, guest, *
p,   member , community/members/*, space, read
p, "user:odd,name@example.test", *, space, read, deny
"""


def test_links_then_rules_every_field_written_out() -> None:
    assert canonical(Policy.parse(TEXT)) == (
        "g, member, guest, *\n"
        "p, guest, community/public/*, space, read, allow\n"
        "p, member, community/members/*, space, read, allow\n"
        'p, "user:odd,name@example.test", *, space, read, deny\n'
    )


def test_the_export_loads_as_the_same_policy() -> None:
    policy = Policy.from_file(DEFAULT_POLICY)
    again = Policy.parse(export(policy), source="exported")
    assert canonical(again) == canonical(policy)
    assert digest(again) == digest(policy)


def test_the_header_names_source_and_hash() -> None:
    policy = Policy.parse(TEXT, source="team.csv")
    first, second, *_ = export(policy).splitlines()
    assert first == "# policy exported from team.csv"
    assert second == f"# sha256: {digest(policy)}"
    assert len(digest(policy)) == 64


def test_comments_spacing_and_defaults_keep_the_hash() -> None:
    plain = "g, member, guest, *\np, member, community/members/*, space, read, allow\n"
    noisy = "# x\np,member,community/members/*,space,read\n\n  g , member, guest, *  \n"
    assert digest(Policy.parse(plain)) == digest(Policy.parse(noisy))


def test_any_change_to_a_line_changes_the_hash() -> None:
    base = Policy.parse(TEXT)
    changed = Policy.parse(TEXT.replace("members/*, space, read", "members/*, space, ask"))
    assert digest(base) != digest(changed)


def test_the_line_diff_counts_repeated_lines() -> None:
    from gateway.policies.export import line_diff

    a = "p, employee, internal/*, space, read\np, employee, internal/*, space, read\n"
    b = "p, employee, internal/*, space, read\np, guest, community/public/*, space, read\n"
    added, removed = line_diff(Policy.parse(a), Policy.parse(b))
    assert added == ["p, guest, community/public/*, space, read, allow"]
    assert removed == ["p, employee, internal/*, space, read, allow"]
