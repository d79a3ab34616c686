"""The rules' seeds agree with the code they describe. ``outcome_codes`` says what each
outcome code the call-center feed accepts means to the rules (reached, booked, blocks
calls...): a code the feed accepts but the seed lacks would load and then be ignored by
every model, and a code the seed names but the feed rejects is dead. Reads files only."""

from __future__ import annotations

import csv
import re
from collections import Counter
from itertools import product
from pathlib import Path

from baoke.extract.catalog import CALLCENTER_OUTCOMES, OUTCOMES

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def test_the_outcome_codes_seed_names_exactly_the_codes_the_feed_accepts() -> None:
    with (SEEDS / "outcome_codes.csv").open(encoding="utf-8", newline="") as seed:
        codes = [row["outcome"] for row in csv.DictReader(seed)]
    assert [code for code, n in Counter(codes).items() if n > 1] == [], "each code once"
    assert set(codes) == OUTCOMES, (
        f"only in the seed: {sorted(set(codes) - OUTCOMES)}; only in the catalogue: {sorted(OUTCOMES - set(codes))}"
    )
    assert CALLCENTER_OUTCOMES.spec.codes["outcome"] == OUTCOMES, "the set the feed checks outcomes against"


def _rows(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as seed:
        return list(csv.DictReader(seed))


def _filled_placeholders() -> set[str]:
    """The placeholders the export fills in: the keys of its ``placeholders`` mapping."""
    model = SEEDS.parent / "models" / "intermediate" / "outreach" / "int_outreach_export.sql"
    text = model.read_text(encoding="utf-8")
    block = text[text.index("set placeholders = {") : text.index("} %}", text.index("set placeholders = {"))]
    return set(re.findall(r"^\s*'(\w+)':", block, re.MULTILINE))


def test_every_reason_has_a_script_and_a_message_whose_placeholders_the_export_fills() -> None:
    """A template naming a placeholder the export does not fill would put "{name}" in
    front of a caller or into a customer's SMS (the export's data test would then fail
    the build): caught here, from the files."""
    reasons = {row["reason"] for row in _rows("outreach_reasons")}
    scripts = _rows("outreach_scripts")
    assert [r["reason"] for r in scripts if list(r) != ["reason", "script_template", "sms_template"]] == []
    assert sorted(r["reason"] for r in scripts) == sorted(reasons), "one script row per reason"
    filled = _filled_placeholders()
    assert {"dealer", "vehicle", "due_date", "policy_end_date", "points_balance"} <= filled
    for r in scripts:
        for column in ("script_template", "sms_template"):
            text = r[column]
            assert text, f"{r['reason']} {column} empty"
            named = set(re.findall(r"\{(\w+)\}", text))
            assert named <= filled, f"{r['reason']} {column}: {sorted(named - filled)} not filled by the export"
            assert re.sub(r"\{\w+\}", "", text).count("{") == 0, f"{r['reason']} {column}: a stray brace"
            assert "回复TD退订" not in text, "the opt-out is the export's (marketing only)"
            assert "【" not in text, "the signature is the export's"


def test_the_labels_cover_the_codes() -> None:
    labels = {(row["code_type"], row["code"]): row["label_zh"] for row in _rows("code_labels")}
    assert all(labels.values()), "every code has its label"
    assert {code for kind, code in labels if kind == "preferred_slot"} == {"MORNING", "AFTERNOON", "EVENING"}
    assert {code for kind, code in labels if kind == "queue"} == {
        "service_advisor",
        "sales_consultant",
        "followup_agent",
        "renewal_specialist",
    }


def _outreach_reasons() -> dict[str, dict[str, str]]:
    with (SEEDS / "outreach_reasons.csv").open(encoding="utf-8", newline="") as seed:
        return {row["reason"]: row for row in csv.DictReader(seed)}


def test_every_outreach_reason_has_a_kind_and_a_holdout_share() -> None:
    """rules §3, §5: the kind decides whether SMS may follow a DO_NOT_CALL, the share how
    many of the due are held out; a typo in either would silently change who is contacted."""
    reasons = _outreach_reasons()
    assert {r["kind"] for r in reasons.values()} <= {"service", "marketing"}
    assert all(0 <= float(r["holdout_pct"]) <= 1 for r in reasons.values())


def test_the_reminders_required_for_everyone_have_no_holdout() -> None:
    """The documents require the follow-up calls and the first-service and maintenance
    reminders for every customer (and fine staff under 95%): none of them is held out.
    Win-back, points and birthday are marketing: an objection to calls covers their SMS."""
    reasons = _outreach_reasons()
    required = ("POST_SERVICE_FOLLOWUP", "NEW_CAR_FOLLOWUP", "FIRST_SERVICE_DUE", "MAINTENANCE_DUE")
    assert {reason: float(reasons[reason]["holdout_pct"]) for reason in required} == dict.fromkeys(required, 0.0)
    marketing = {reason for reason, row in reasons.items() if row["kind"] == "marketing"}
    assert marketing == {"LAPSING_WINBACK", "LOST_WINBACK", "POINTS_EXPIRY", "BIRTHDAY"}


def test_every_candidate_matches_exactly_one_route() -> None:
    """``outreach_routing`` is a decision table read by a join (int_outreach_routing): a
    combination no row matches would leave a candidate without a list, two rows would
    list it twice. Every path, kind and contact fact, as the model derives them (kind
    from the reasons seed, the booleans never null), matches exactly one row; an empty
    cell matches either value."""
    with (SEEDS / "outreach_routing.csv").open(encoding="utf-8", newline="") as seed:
        routes = list(csv.DictReader(seed))
    kinds = {row["kind"] for row in _outreach_reasons().values()}
    unmatched, ambiguous = [], []
    for path in {route["path"] for route in routes}:
        for kind in kinds:
            for facts in product((True, False), repeat=3):
                candidate = dict(zip(("has_mobile", "may_sms", "is_wrong_number"), facts, strict=True))
                matches = [
                    route
                    for route in routes
                    if route["path"] == path
                    and route["kind"] in ("", kind)
                    and all(route[name] in ("", str(value).lower()) for name, value in candidate.items())
                ]
                if not matches:
                    unmatched.append((path, kind, candidate))
                elif len(matches) > 1:
                    ambiguous.append((path, kind, candidate, matches))
    assert unmatched == [], "no route"
    assert ambiguous == [], "several routes"
