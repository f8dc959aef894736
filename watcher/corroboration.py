"""Counting independent sources. Pure.

Two observations are from the *same source* when they share any of:

- the feed (one outlet saying it twice is one voice);
- the story (the cross-feed key of ``Item.story``: the same canonical link, or an article the
  store recognised as the same one in another feed);
- the headline, once normalised (case, punctuation and spacing removed);
- the summary text, once normalised, when it is long enough to be distinctive;
- the whole text (``Item.content_hash``).

So wire copy republished by two feeds counts once, even before the store links the copies.
The number of independent sources is the size of the largest set of observations no two of
which share anything. That is found exactly by a bounded search (the sets involved are small:
a few reports of one fact within one window), falling back to a greedy count if the budget runs out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .identity import normalise_title
from .models import Observation

MIN_SUMMARY_CHARS = 80   # shorter summaries ("Read more") say nothing about who wrote the text
SEARCH_BUDGET = 20_000   # steps of the exact search before settling for the greedy answer


def summary_key(summary: str) -> str:
    """A fingerprint of a summary long enough to be distinctive ("" otherwise)."""
    normal = normalise_title(summary)
    return hashlib.sha256(normal.encode()).hexdigest()[:24] if len(normal) >= MIN_SUMMARY_CHARS else ""


def source_keys(observation: Observation) -> frozenset[str]:
    """Everything that identifies where an observation's text came from."""
    item = observation.item.item
    keys = {f"feed:{observation.item.feed}"}
    if item.story:
        keys.add(f"story:{item.story}")
    title = normalise_title(item.title)
    if title:
        keys.add(f"title:{title}")
    summary = observation.text_key or summary_key(item.summary)
    if summary:
        keys.add(f"summary:{summary}")
    if item.content_hash:
        keys.add(f"text:{item.content_hash}")
    return frozenset(keys)


def independent(observations: Sequence[Observation], enough: int | None = None,
                keys: Callable[[Observation], frozenset[str]] = source_keys) -> list[Observation]:
    """A largest set of mutually independent observations (earliest first among equals).

    With ``enough``, the search stops as soon as it has that many. ``keys`` gives an
    observation's ``source_keys`` (a caller counting the same reports many times may remember them)."""
    ordered = sorted(observations, key=lambda o: (o.seen_at, o.id or 0))
    keyed = [(o, keys(o)) for o in ordered]
    best = _greedy(keyed)
    target = _most_possible(keyed)
    if enough is not None:
        target = min(target, enough)
    if len(best) >= target:
        return best[:target] if enough is not None else best
    steps = 0

    def search(start: int, chosen: list[Observation], used: frozenset[str]) -> bool:
        nonlocal best, steps
        if len(chosen) > len(best):
            best = list(chosen)
            if len(best) >= target:
                return True
        for i in range(start, len(keyed)):
            steps += 1
            if steps > SEARCH_BUDGET or len(chosen) + (len(keyed) - i) <= len(best):
                return False
            obs, keys = keyed[i]
            if used.isdisjoint(keys) and search(i + 1, [*chosen, obs], used | keys):
                return True
        return False

    search(0, [], frozenset())
    return sorted(best, key=lambda o: (o.seen_at, o.id or 0))


def _most_possible(keyed: list[tuple[Observation, frozenset[str]]]) -> int:
    """An upper bound on the size of an independent set: for each kind of key (feed, story,
    title...), at most one observation per distinct key, plus those without a key of that kind.
    When the greedy set reaches it, that set is a largest one and no search is needed (many
    reports of one syndicated story in many feeds share few stories and titles)."""
    distinct: dict[str, set[str]] = {}
    having: dict[str, int] = {}
    for _, keys in keyed:
        for kind in {key.partition(":")[0] for key in keys}:
            having[kind] = having.get(kind, 0) + 1
        for key in keys:
            distinct.setdefault(key.partition(":")[0], set()).add(key)
    return min((len(found) + len(keyed) - having[kind] for kind, found in distinct.items()), default=len(keyed))


def _greedy(keyed: list[tuple[Observation, frozenset[str]]]) -> list[Observation]:
    chosen: list[Observation] = []
    used: set[str] = set()
    for obs, keys in keyed:
        if used.isdisjoint(keys):
            chosen.append(obs)
            used |= keys
    return chosen
