"""The rules' seeds agree with the code they describe. ``outcome_codes`` says what each
outcome code the call-center feed accepts means to the rules (reached, booked, blocks
calls...): a code the feed accepts but the seed lacks would load and then be ignored by
every model, and a code the seed names but the feed rejects is dead. Reads files only."""

from __future__ import annotations

import csv
from collections import Counter
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
