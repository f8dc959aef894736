"""The benchmark's rule folders: the farm's feeds, 200 item rules, and the bundled facts.

``item_rules(count)`` is a deterministic, realistic mix: two common phrases (~9 % of items
each), event and hot-topic keywords, rare entity names (one keyword, several alternatives,
all/any/none combinations, some limited to feeds with a tag) and 25 % regexes (hand-written
ones and "word A within 3 words of word B"). With the bundled ``rules/ukraine-aid.yaml``
(3 facts, 9 signals, 2 item rules) a folder holds ``count`` item rules in all.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from . import farm

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_FACTS = ROOT / "rules" / "ukraine-aid.yaml"
BUNDLED_ITEM_RULES = 2  # in ukraine-aid.yaml

HAND_REGEXES = [
    r"\$\d+(\.\d+)? ?(bn|billion)", r"magnitude \d(\.\d)? earthquake", r"\b\d{1,3}(,\d{3})* layoffs\b",
    r"\b\d+% tariffs?\b", r"cancel(l)?ed \d+ flights", r"\bcut rates by \d+ basis points\b",
    r"\bfined\b.{0,40}\bbillion\b", r"cyber-?attacks?", r"\bwildfires?\b.{0,30}evacuat\w+",
    r"\bstrike by (pilots|workers|nurses|teachers)\b", r"\bantitrust (violations?|probe|case)\b",
    r"\binterest rates? (hike|cut|rise|fall)s?\b", r"\bclimate change (report|summit|targets?)\b",
    r"\b(H\.R\.|S\.) ?\d{2,4}\b", r"\bair[- ]defen[cs]e systems?\b", r"\bsupplemental (aid|funding)\b",
    r"\b(drone|missile) strikes?\b", r"\bceasefire (talks|deal|agreement)\b", r"\bpayment systems? (outage|disrupt\w*)",
    r"\bstate of emergency\b",
]
# word pairs that occur within three words of each other only in event and entity sentences
PROXIMITY_WORDS = [("earthquake", "coast"), ("firm", "layoffs"), ("tariff", "steel"), ("cyberattack", "banks"),
                   ("evacuations", "towns"), ("airline", "flights"), ("regulators", "company"),
                   ("bank", "basis"), ("struck", "monday"), ("layoffs", "plants"), ("imposed", "imported"),
                   ("disrupted", "systems"), ("ordered", "towns"), ("cancelled", "strike"), ("fined", "billion")]
EVENT_TERMS = [["earthquake", "quake"], ["layoffs", "job cuts"], ["tariffs?"], ["cyberattacks?", "hackers?"],
               ["wildfires?", "evacuations?"], ["strike by pilots", "walkout"], ["antitrust"], ["basis points"],
               ["flights? cancel+ed", "cancel+ed \\d+ flights"], ["state of emergency"], ["recession"],
               ["bankruptcy", "insolvency"], ["flood(s|ing)?"], ["sanctions"], ["resign(s|ed|ation)"], ["indictment"]]
HOT_TERMS = [["air defen[cs]e"], ["aid package"], ["Ukrain\\w*", "Kyiv"], ["co-?production"], ["Senate"],
             ["drones?"]]


def _rule(name: str, match: dict, *, tag: str | None = None) -> dict:
    on: dict = {"items": match}
    if tag:
        on["feeds"] = [tag]
    return {"name": name, "on": on, "notify": ["console"]}


def item_rules(count: int = 200) -> list[dict]:
    """``count - 2`` generated rules (the bundled file brings the other 2)."""
    rng = random.Random(farm.SEED + 2)
    wanted = count - BUNDLED_ITEM_RULES
    regexes = max(0, wanted // 4)
    rules = [_rule("common-interest-rates", {"all": ["interest rates"]}),
             _rule("common-climate-change", {"all": ["climate change"]})]
    for i, terms in enumerate(EVENT_TERMS):
        rules.append(_rule(f"event-{i:02d}", {"any": terms, "none": ["rumou?rs?"]}))
    for i, terms in enumerate(HOT_TERMS):
        rules.append(_rule(f"hot-{i:02d}", {"all": terms[:1], "any": terms[1:] or [], "scope": ["title", "summary"]}
                           if len(terms) > 1 else {"all": terms}))
    entities = farm.rare_entities()
    n = 0
    while len(rules) < wanted - regexes:
        a, b, c = (entities[(n * 3 + k) % len(entities)] for k in range(3))
        shape = n % 5
        if shape == 0:
            match = {"all": [a]}
        elif shape == 1:
            match = {"any": [a, b, c]}
        elif shape == 2:
            match = {"all": [a], "any": ["shares", "stock", "rose", "fell"], "none": ["rumou?r"]}
        elif shape == 3:
            match = {"all": [f"shares of {a}"], "scope": ["summary"]}
        else:
            match = {"any": [a, f"{b} (group|holdings?)"], "none": ["sponsored"]}
        rules.append(_rule(f"entity-{n:03d}", match, tag="tagged" if n % 7 == 0 else None))
        n += 1
    for i in range(regexes):
        if i < len(HAND_REGEXES) and i < regexes * 2 // 5:
            regex = HAND_REGEXES[i]
        else:
            if i % 2:
                a, b = PROXIMITY_WORDS[(i + rng.randrange(len(PROXIMITY_WORDS))) % len(PROXIMITY_WORDS)]
            else:
                a, b = entities[(i * 7 + rng.randrange(len(entities))) % len(entities)], "announcement"
            regex = rf"\b{a}\W+(?:\w+\W+){{0,3}}?{b}\b"
        term = {"regex": regex, **({"case_sensitive": True} if regex.startswith(r"\b(H") else {})}
        rules.append(_rule(f"regex-{i:02d}", {"all": [term]}))
    return rules[:wanted]


def _dump(path: Path, data: dict) -> None:
    # JSON is YAML: no YAML library needed here, and the loader reads it the same way
    path.write_text(json.dumps(data, indent=1) + "\n")


def write(folder: Path, *, feeds: int, base_url: str, interval: str = "1h", rules: int = 200,
          no_validators: bool = False, hook: str | None = None) -> Path:
    """A complete rules folder for ``feeds`` farm feeds served under ``base_url``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    headers = {"X-Bench-Validators": "off"} if no_validators else {}
    tags = ["ukraine", "us-politics", "defense", "official", "tagged"]  # every tag the bundled facts name
    _dump(folder / "feeds.yaml", {
        "settings": {"interval": interval, "backlog": {"alerts": "36500d", "facts": "36500d"}},
        "feeds": {f"f{i:05d}": {"url": f"{base_url}/{farm.name(i)}", "tags": tags if i == 1 else [tags[i % len(tags)]],
                                **({"headers": headers} if headers else {})}
                  for i in range(1, feeds + 1)},
    })
    _dump(folder / "alerts.yaml", {"alerts": item_rules(rules)})
    (folder / "ukraine-aid.yaml").write_text(BUNDLED_FACTS.read_text())
    channels = {"policy-team": "console", "newsroom": "console", "hook": hook or "console"}
    latency = [{"name": "latency-probe", "on": {"items": {"all": ["watcher latency probe"], "scope": ["summary"]}},
                "notify": ["hook"]}]
    _dump(folder / "channels.yaml", {"channels": channels, "alerts": latency})
    return folder
