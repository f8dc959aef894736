"""Counting independent sources: the upper bound that lets ``independent`` skip its search gives
exactly the sets the search alone gives (differential test, with hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

from hypothesis import given, settings, strategies as st

from watcher import corroboration
from watcher.models import Item, Observation, StoredItem

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _observation(n: int, feed: str, story: str, title: str, summary: str, text: str) -> Observation:
    item = Item(key=f"k{n}", title=title, link=None, summary="", content_hash=text, story=story)
    stored = StoredItem(n, feed, item, NOW + timedelta(minutes=n % 7))
    return Observation("aid", "passed", stored, (), 0, id=n, text_key=summary)


_reports = st.lists(st.tuples(st.sampled_from("abcdef"), st.sampled_from(("", "s1", "s2", "s3")),
                              st.sampled_from(("", "Senate passes aid", "Aid passes", "Senate votes")),
                              st.sampled_from(("", "x" * 24, "y" * 24)), st.sampled_from(("", "t1", "t2", "t3"))),
                    max_size=14)


def _search_only(keyed) -> int:  # the bound before: one observation per feed
    return len({k for _, keys in keyed for k in keys if k.startswith("feed:")})


@settings(max_examples=300, deadline=None)
@given(reports=_reports, enough=st.one_of(st.none(), st.integers(1, 4)))
def test_the_bound_gives_the_sets_of_the_search(reports, enough):
    observations = [_observation(n, *r) for n, r in enumerate(reports)]
    found = corroboration.independent(observations, enough)
    bound = corroboration._most_possible
    try:
        corroboration._most_possible = _search_only
        expected = corroboration.independent(observations, enough)
    finally:
        corroboration._most_possible = bound
    assert [o.id for o in found] == [o.id for o in expected]
    keyed = [(o, corroboration.source_keys(o)) for o in observations]
    assert len(found) <= corroboration._most_possible(keyed)


def test_copies_of_one_story_in_many_feeds_count_once_without_a_search():
    observations = [_observation(n, f"feed{n}", "l:https://wire.example/aid", f"Senate passes aid {n}", "", f"t{n}")
                    for n in range(40)]
    keyed = [(o, corroboration.source_keys(o)) for o in observations]
    assert corroboration._most_possible(keyed) == 1
    assert len(corroboration.independent(observations)) == 1
