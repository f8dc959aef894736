"""The bundled example rules on headlines of the kind the 2024 Ukraine aid story produced:
reports are read, and questions, denials, predictions and arguments are not."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest

from conftest import ROOT
from watcher.facts import observe
from watcher.models import Item, StoredItem
from watcher.ruleset import load_rules

RULES = load_rules(ROOT / "rules", channels=False)


@pytest.mark.parametrize("title,summary,expected", [
    ("Senate passes $95 billion aid package for Ukraine, Israel and Taiwan", "",
     {("us-aid-package", "passed-senate")}),
    ("House passes $95 billion foreign aid package after months of delay", "",
     {("us-aid-package", "passed-house")}),
    ("House approves $61 billion in aid for Ukraine", "",
     {("us-aid-package", "passed-house"), ("us-aid-amount", "61000000000")}),
    ("Congress passes Ukraine aid, sends it to Biden", "", {("us-aid-package", "passed-congress")}),
    ("Biden signs foreign aid bill with Ukraine funding into law", "", {("us-aid-package", "signed")}),
    ("Senate fails to advance Ukraine aid bill", "", {("us-aid-package", "blocked")}),
    ("Speaker Johnson blocks vote on Ukraine aid", "", {("us-aid-package", "blocked")}),
    ("Pentagon: funds for Ukraine have run out", "", {("us-ukraine-funds", "depleted")}),
    ("US and Ukraine sign agreement to co-produce weapons", "", {("us-ukraine-coproduction", "agreement-signed")}),
    ("Ukraine and US begin joint production of air defense missiles", "",
     {("us-ukraine-coproduction", "production-started")}),
    ("Aid bill heads to the president", "The legislation includes $60.8 billion in military aid for Ukraine.",
     {("us-aid-amount", "60800000000")}),
    # `none` refuses only the sentence where the terms meet, not the rest of the summary
    ("US and Ukraine sign agreement to co-produce weapons", "The deal follows months of talks.",
     {("us-ukraine-coproduction", "agreement-signed")}),
    ("Pentagon: funds for Ukraine have run out", "Officials say new money could come soon.",
     {("us-ukraine-funds", "depleted")}),
    # the traps
    ("Will the House vote on Ukraine aid?", "", set()),
    ("Biden says he will sign Ukraine aid as soon as it reaches his desk", "", set()),
    ("House Republicans say they will not pass Ukraine aid without border security", "", set()),
    ("The House has not passed the Ukraine aid package", "", set()),
    ("Opinion: The House must pass Ukraine aid now", "", set()),
    ("Zelensky urges Congress to approve Ukraine aid", "", set()),
    ("Senate expected to pass Ukraine aid package on Tuesday", "", set()),
    ("Pentagon warns Ukraine funds could run out by summer", "", set()),
    ("Ukraine aid package stalls in Congress", "", set()),
    ("EU approves €50 billion in aid for Ukraine", "", set()),
    ("Why the Senate's Ukraine aid vote matters", "", set()),
    ("US and Ukraine hold talks on co-producing drones", "", set()),
    ("Ukraine and US agree to co-produce drones", "Ukraine and the US are still in talks on a co-production deal.",
     set()),
    ("Pentagon warns Ukraine funds will run out soon", "", set()),
    ("Senate passes Ukraine sanctions bill", "", set()),
    ("House passes bill to seize Russian assets for Ukraine", "", set()),
])
def test_bundled_signals(title, summary, expected):
    item = Item(key="k", title=title, link=None, summary=summary)
    stored = StoredItem(1, "politico-congress", item, datetime(2024, 4, 20, tzinfo=UTC))
    assert {(o.fact, o.value) for o in observe(RULES.facts, [stored])} == expected
