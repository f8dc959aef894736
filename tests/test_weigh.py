"""``weigh`` on its own, with observations built by hand: when a report counts (its window runs
from its publication), when a restatement of the current value contradicts a new one, feeds
that are ignored or only confirm, and what a value that has not won waits for (``outlook``)."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from conftest import write_rules
from facts_harness import BRIDGE_FACT
from watcher import balance
from watcher.facts import observe, weigh
from watcher.models import FactState, Item, Observation, ObservationState as S, StoredItem
from watcher.ruleset import load_rules

T0 = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
SINCE = T0 - timedelta(days=7)   # the known value, from the rules

BRIDGE = """\
settings:
  corroborate: {{{policy}}}
feeds:
  wire: {{url: "https://wire.example/rss"}}
  city: {{url: "https://city.example/rss"}}
  radio: {{url: "https://radio.example/rss"}}
  blog: {{url: "https://blog.example/rss", tags: [blogs]}}
  forum: {{url: "https://forum.example/rss", tags: [blogs]}}
facts:
""" + BRIDGE_FACT.replace("{", "{{").replace("}", "}}")


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _fact(tmp_path, policy: str = "sources: 1, within: 48h"):
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    write_rules(folder, BRIDGE.format(policy=policy))
    return load_rules(folder, environ={}).facts["bridge"]


_ids = iter(range(1, 10_000))


def report(value: str, feed: str, seen: float, published: float | None = None, state: S = S.NEW,
           title: str = "") -> Observation:
    """A report of ``value`` from ``feed``, first seen ``seen`` hours after T0 and published
    ``published`` hours after T0 (default: when seen)."""
    n = next(_ids)
    item = Item(key=f"k{n}", title=title or f"Bridge {value} ({feed} {n})", link=f"https://{feed}.example/{n}",
                summary="", content_hash=f"h{n}", story=f"s{n}",
                published_at=at(published) if published is not None else at(seen))
    stored = StoredItem(n, feed, item, at(seen))
    return Observation("bridge", value, stored, (), 0, id=n if state != S.NEW else None, state=state)


def closed_since_rules() -> FactState:
    return FactState("bridge", "closed", SINCE, "rules")


def states(verdict) -> dict[str, S]:
    return {o.item.feed: o.state for o in verdict.observations}


# -- the clock of a report: its publication, when that is earlier than when it was seen --------

def test_a_backlog_restatement_published_before_the_new_value_does_not_hold_it(tmp_path):
    """The bridge story: a 30-hour-old "remains closed" from a feed's first poll, then "reopens"."""
    fact = _fact(tmp_path)                                              # one source, 48h window
    old = report("closed", "city", seen=0, published=-30, state=S.CONFIRMED)
    verdict = weigh(fact, closed_since_rules(), [old], [report("open", "wire", seen=1)], at(1))
    assert verdict.change is not None and (verdict.change.old, verdict.change.new) == ("closed", "open")
    assert verdict.change.disputed == () and verdict.notices == ()


def test_a_restatement_published_after_the_new_value_is_a_dispute(tmp_path):
    fact = _fact(tmp_path, "sources: 2, within: 48h")
    first = weigh(fact, closed_since_rules(), [], [report("open", "wire", seen=0)], at(0))
    (pending,) = first.observations
    assert pending.state == S.PENDING
    stored = [pending]
    restated = weigh(fact, closed_since_rules(), stored, [report("closed", "city", seen=2, published=1.5)], at(2))
    assert restated.change is None
    (dispute,) = restated.notices
    assert dispute.kind == "contradiction" and dispute.values == (("open", 1), ("closed", 1))
    assert [e.feed for e in dispute.evidence] == ["wire", "city"]
    # a second independent source for the new value outweighs the restatement
    stored.append(next(o for o in restated.observations if o.item.feed == "city"))
    moved = weigh(fact, closed_since_rules(), stored, [report("open", "radio", seen=3)], at(3))
    assert moved.change is not None and moved.change.new == "open" and moved.change.disputed == ("closed",)


def test_an_old_restatement_stays_old_news_after_the_fact_moved(tmp_path):
    """Once the bridge has reopened, the 30-hour-old "remains closed" does not count for closed:
    a new "remains closed" is one source against one, a dispute, not a move back."""
    fact = _fact(tmp_path)
    old = report("closed", "city", seen=0, published=-30, state=S.CONFIRMED)
    reopened = report("open", "wire", seen=1, state=S.APPLIED)
    verdict = weigh(fact, FactState("bridge", "open", at(1), "signal"), [old, reopened],
                    [report("closed", "radio", seen=2)], at(2))
    assert verdict.change is None
    dispute = next(n for n in verdict.notices if n.kind == "contradiction")
    assert dispute.values == (("open", 1), ("closed", 1)) and [e.feed for e in dispute.evidence] == ["wire", "radio"]
    (wait,) = balance.outlooks(fact, "open", at(1), [old, reopened, report("closed", "radio", seen=2)], at(2))
    assert (wait.value, wait.sources, wait.rivals) == ("closed", 1, (("open", 1),))


def test_the_reports_that_moved_the_fact_still_dispute_a_new_value(tmp_path):
    """Only restatements are measured against the new value's first report; the reports that
    made the current value are a claim like any other while they are in the window."""
    fact = _fact(tmp_path)
    applied = report("closed", "city", seen=0, published=-1, state=S.APPLIED)
    verdict = weigh(fact, FactState("bridge", "closed", at(0), "signal"), [applied],
                    [report("open", "wire", seen=2)], at(2))
    assert verdict.change is None and [n.kind for n in verdict.notices] == ["contradiction", "pending"]


def test_a_report_older_than_its_window_when_it_arrives_never_counts(tmp_path):
    fact = _fact(tmp_path, "sources: 1, within: 24h")
    verdict = weigh(fact, closed_since_rules(), [], [report("open", "wire", seen=0, published=-30)], at(0))
    assert verdict.change is None and verdict.notices == ()
    assert states(verdict) == {"wire": S.EXPIRED}
    restated = weigh(fact, closed_since_rules(), [], [report("closed", "city", seen=0, published=-30)], at(0))
    assert states(restated) == {"city": S.CONFIRMED} and restated.notices == ()


@pytest.mark.parametrize("published,live_until", [
    (-20, 4),      # published 20 hours before it was seen: 4 hours left of a 24-hour window
    (10, 24),      # a date in the future counts as the time it was seen
    (None, 24),    # no date: the time it was seen
])
def test_the_window_runs_from_the_publication(tmp_path, published, live_until):
    fact = _fact(tmp_path, "sources: 2, within: 24h")
    waiting = report("open", "wire", seen=0, published=published, state=S.PENDING)
    if published is None:
        waiting = Observation("bridge", "open", StoredItem(waiting.item.id, "wire",
                              Item(key="k", title="Bridge reopens", link=None, summary=""), at(0)), (), 0,
                              id=waiting.id, state=S.PENDING)
    assert balance.expires(fact, waiting) == at(live_until)
    assert weigh(fact, closed_since_rules(), [waiting], [], at(live_until - 0.1)).observations == ()
    assert states(weigh(fact, closed_since_rules(), [waiting], [], at(live_until))) == {"wire": S.EXPIRED}


# -- feeds that never count, and feeds that only confirm ---------------------------------------

def test_an_ignored_feed_is_never_evidence(tmp_path):
    fact = _fact(tmp_path, "sources: 1, within: 24h, ignore: [blogs]")
    item = Item(key="k", title="Bridge reopens", link=None, summary="")
    assert observe({"bridge": fact}, [StoredItem(1, "blog", item, at(0))]) == []
    assert [o.value for o in observe({"bridge": fact}, [StoredItem(2, "wire", item, at(0))])] == ["open"]
    # a report stored before the feed was ignored does not count either
    earlier = report("closed", "blog", seen=1, state=S.PENDING)
    verdict = weigh(fact, FactState("bridge", "open", at(0), "signal"), [earlier], [], at(2))
    assert verdict.change is None and verdict.notices == ()


def test_a_confirm_only_feed_adds_a_source_but_never_stands_alone(tmp_path):
    fact = _fact(tmp_path, "sources: 2, within: 24h, confirm_only: [blogs]")
    alone = weigh(fact, closed_since_rules(), [], [report("open", "blog", seen=0)], at(0))
    assert alone.change is None and alone.notices == ()                    # no pending report, no alert
    assert states(alone) == {"blog": S.PENDING}                            # kept: it may still confirm
    stored = list(alone.observations)
    two_blogs = weigh(fact, closed_since_rules(), stored, [report("open", "forum", seen=1)], at(1))
    assert two_blogs.change is None and two_blogs.notices == ()           # two confirm-only feeds: still nothing
    stored += two_blogs.observations
    verdict = weigh(fact, closed_since_rules(), stored, [report("open", "wire", seen=2)], at(2))
    assert verdict.change is not None and verdict.change.new == "open" and verdict.change.sources == 3
    assert sorted(e.feed for e in verdict.change.evidence) == ["blog", "forum", "wire"]


def test_a_confirm_only_report_does_not_start_a_contradiction(tmp_path):
    fact = _fact(tmp_path, "sources: 1, within: 24h, confirm_only: [blog]")
    moved = weigh(fact, closed_since_rules(), [], [report("open", "wire", seen=0)], at(0))
    applied = [o for o in moved.observations]
    verdict = weigh(fact, FactState("bridge", "open", at(0), "signal"), applied,
                    [report("closed", "blog", seen=1)], at(1))
    assert verdict.change is None and verdict.notices == ()


# -- what a value that has not won waits for -----------------------------------------------------

def test_outlook_counts_the_sources_a_value_still_needs(tmp_path):
    fact = _fact(tmp_path, "sources: 3, within: 24h")
    (wait,) = balance.outlooks(fact, "closed", SINCE, [report("open", "wire", seen=0, state=S.PENDING)], at(1))
    assert (wait.value, wait.sources, wait.more, wait.until) == ("open", 1, 2, at(24))
    assert wait.waits_for() == "2 more independent sources"


def test_outlook_names_the_contradiction_that_holds_a_value(tmp_path):
    fact = _fact(tmp_path, "sources: 1, within: 24h")
    live = [report("open", "wire", seen=0, state=S.PENDING),
            report("closed", "city", seen=1, published=0.5, state=S.CONFIRMED)]
    (wait,) = balance.outlooks(fact, "closed", SINCE, live, at(2))
    assert wait.contradicted and wait.rivals == (("closed", 1),) and wait.more == 1
    assert wait.waits_for() == "1 more independent source: held by a contradiction, open (1) against closed (1)"
    assert wait.summary()["contradiction"] == [{"value": "closed", "shown": "closed", "sources": 1}]


def test_outlook_of_a_move_back_waits_for_an_operator(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    write_rules(folder, """\
        feeds: {wire: {url: "https://wire.example/rss"}, city: {url: "https://city.example/rss"}}
        settings: {corroborate: {sources: 2}}
        facts:
          aid:
            describe: aid
            values: [stalled, passed, blocked]
            ordered: true
            known: passed
            signals:
              - {value: stalled, backwards: true, match: {all: [stalls]}}
        """)
    fact = load_rules(folder, environ={}).facts["aid"]
    one = Observation("aid", "stalled", report("x", "wire", seen=0).item, (), 0, backwards=True, id=1,
                      state=S.PENDING)
    (wait,) = balance.outlooks(fact, "passed", SINCE, [one], at(1))
    assert wait.operator and wait.waits_for() == ("1 more independent source, then an operator (`watcher facts "
                                                  "set aid VALUE`): a move back is never applied on evidence")
    two = Observation("aid", "stalled", report("x", "city", seen=0.5).item, (), 0, backwards=True, id=2,
                      state=S.PENDING)
    (wait,) = balance.outlooks(fact, "passed", SINCE, [one, two], at(1))
    assert wait.more == 0 and wait.waits_for().startswith("an operator (`watcher facts set aid VALUE`)")


def test_outlook_of_a_confirm_only_report_and_pending_reports_of_an_ignored_feed(tmp_path):
    fact = _fact(tmp_path, "sources: 1, within: 24h, confirm_only: [blog], ignore: [forum]")
    live = [report("open", "blog", seen=0, state=S.PENDING), report("open", "forum", seen=0.5, state=S.PENDING)]
    listed = balance.pending(fact, "closed", SINCE, live, at(1))
    assert [(o.item.feed, wait is None) for o, wait in listed] == [("forum", True), ("blog", False)]
    assert listed[1][1].waits_for() == ("a report from a feed that counts (only blog, in corroborate.confirm_only, "
                                        "reported open)")
    assert balance.pending_summary(fact, *listed[0])["waits_for"] == \
        "nothing: ignored, feed forum is in corroborate.ignore"
