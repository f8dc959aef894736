"""Noise control decisions, pure, each with an explicit clock: silences, realert, routing by
severity, digests, quiet hours (time zones, midnight, DST, days) and inhibition."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, UTC

import pytest

from watcher.alerts import digest_message
from watcher.models import AlertDraft, Message
from watcher.noise import (DIGEST_MAX, LastAlert, Silence, group, inhibited, parse_matcher, plan_batch,
                           quiet_until, route, skipped_note, skipped_stages)
from watcher.ruleset.compiled import Channel, QuietWindow, Secret

T0 = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)  # a Wednesday


def channel(name="team", **options) -> Channel:
    return Channel(name, Secret("json://127.0.0.1/x"), "${X}", **options)


def draft(rule="r", severity="info", channels=("team",), **kw) -> AlertDraft:
    return AlertDraft(rule, f"k-{rule}", kw.pop("kind", "item"), "title", "body", "text", channels,
                      severity=severity, **kw)


def silence(*matchers, start=T0, hours=2, sid=1) -> Silence:
    return Silence(sid, tuple(parse_matcher(m) for m in matchers), start, start + timedelta(hours=hours), "why")


@dataclass(frozen=True)
class Row:
    id: int
    alert_id: int
    rule: str = "r"
    kind: str = "item"
    severity: str = "info"
    fact: str | None = None
    feed: str | None = None
    stage: int | None = None
    digest: bool = True
    title: str = "t"


# -- matchers and silences ------------------------------------------------------------------------

def test_matchers_equal_not_equal_and_whole_value_regex():
    labels = {"rule": "aid-changed", "severity": "warning", "feed": "bbc-world", "fact": None}
    assert parse_matcher("rule=aid-changed").matches(labels)
    assert not parse_matcher("rule=aid").matches(labels)
    assert parse_matcher("severity!=critical").matches(labels)
    assert parse_matcher('feed=~"bbc-.*"').matches(labels)
    assert not parse_matcher("feed=~bbc").matches(labels)          # the whole value must match
    assert parse_matcher("feed!~npr-.*").matches(labels)
    assert parse_matcher("fact=").matches(labels)                   # an absent label is empty


@pytest.mark.parametrize("text,message", [
    ("rule", "is not a matcher"),
    ("colour=red", 'unknown matcher key "colour"'),
    ("severity=urgent", "severity is one of info, warning, critical"),
    ("feed=~(", "not a valid regular expression"),
])
def test_bad_matchers_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse_matcher(text)


def test_silence_applies_only_between_its_start_and_end():
    s = silence("rule=r")
    assert route(draft(), {"team": channel()}, [s], T0)[0].state == "suppressed"
    assert route(draft(), {"team": channel()}, [s], T0 - timedelta(seconds=1))[0].state == "pending"
    assert route(draft(), {"team": channel()}, [s], T0 + timedelta(hours=2))[0].state == "pending"


def test_silence_can_name_one_channel_of_an_alert():
    routes = route(draft(channels=("team", "desk")), {}, [silence("channel=desk")], T0)
    assert [(r.channel, r.state) for r in routes] == [("team", "pending"), ("desk", "suppressed")]
    assert routes[1].note == "silenced by silence 1 until 2024-04-24T14:00:00Z: why"


# -- routing by severity, realert, digest windows --------------------------------------------------

def test_min_severity_routes_and_records_why():
    channels = {"pager": channel("pager", min_severity="critical"), "team": channel()}
    routes = route(draft(severity="warning", channels=("pager", "team")), channels, [], T0)
    assert [(r.channel, r.state) for r in routes] == [("pager", "suppressed"), ("team", "pending")]
    assert routes[0].note == "severity warning is below the channel's min_severity critical"
    assert route(draft(severity="critical", channels=("pager",)), channels, [], T0)[0].state == "pending"


def test_realert_suppresses_within_the_interval_only():
    last = LastAlert(7, T0)
    soon = route(draft(), {}, [], T0 + timedelta(minutes=59), realert=3600, last=last)[0]
    assert soon.state == "suppressed" and "alert #7" in soon.note and "every 1h" in soon.note
    later = route(draft(), {}, [], T0 + timedelta(minutes=60), realert=3600, last=last)[0]
    assert later.state == "pending"
    assert route(draft(), {}, [], T0, realert=3600, last=None)[0].state == "pending"


def test_digest_window_opens_or_joins():
    team = {"team": channel(digest=600.0)}
    assert route(draft(), team, [], T0)[0].due_at == T0 + timedelta(minutes=10)
    opened = T0 + timedelta(minutes=3)
    assert route(draft(), team, [], T0, open_digests={"team": opened})[0].due_at == opened
    assert route(draft(digest=False), team, [], T0)[0].due_at == T0      # the rule opts out
    assert route(draft(), {"team": channel(digest=0.0)}, [], T0)[0].due_at == T0  # "cycle"


# -- quiet hours ------------------------------------------------------------------------------------

def night(**kw) -> QuietWindow:
    return QuietWindow(time(22), time(7), kw.pop("timezone", "Europe/Kyiv"), **kw)


def test_quiet_hours_cross_midnight_in_local_time():
    # Kyiv is UTC+3 in April: 22:00-07:00 local is 19:00-04:00 UTC
    at = datetime(2024, 4, 24, 20, 30, tzinfo=UTC)
    assert quiet_until([night()], at) == datetime(2024, 4, 25, 4, 0, tzinfo=UTC)
    assert quiet_until([night()], datetime(2024, 4, 25, 3, 59, tzinfo=UTC)) == datetime(2024, 4, 25, 4, 0, tzinfo=UTC)
    assert quiet_until([night()], datetime(2024, 4, 25, 4, 0, tzinfo=UTC)) is None
    assert quiet_until([night()], datetime(2024, 4, 24, 18, 59, tzinfo=UTC)) is None


def test_quiet_hours_follow_daylight_saving_time():
    # 31 March 2024: Kyiv moves from UTC+2 to UTC+3 at 03:00 local; 07:00 local is then 04:00 UTC
    assert quiet_until([night()], datetime(2024, 3, 30, 21, 0, tzinfo=UTC)) == datetime(2024, 3, 31, 4, 0, tzinfo=UTC)
    # and the evening before, 22:00 local was 20:00 UTC
    assert quiet_until([night()], datetime(2024, 3, 30, 19, 59, tzinfo=UTC)) is None


def test_quiet_days_and_a_night_join_into_one_hold():
    weekend = QuietWindow(None, None, "UTC", frozenset({5, 6}))
    friday_night = QuietWindow(time(20), time(8), "UTC", frozenset({4}))
    at = datetime(2024, 4, 26, 21, 0, tzinfo=UTC)  # Friday 21:00
    assert quiet_until([weekend, friday_night], at) == datetime(2024, 4, 29, 0, 0, tzinfo=UTC)  # Monday
    # a window limited to days applies only to periods starting on those days
    assert quiet_until([friday_night], datetime(2024, 4, 25, 21, 0, tzinfo=UTC)) is None


def test_quiet_hours_let_urgent_alerts_through():
    window = night(except_severity="critical")
    at = datetime(2024, 4, 24, 20, 30, tzinfo=UTC)
    assert quiet_until([window], at, "warning") is not None
    assert quiet_until([window], at, "critical") is None


# -- a channel's batch: silences, quiet hours, inhibition, grouping ----------------------------------

def test_plan_batch_holds_for_quiet_hours_and_passes_urgent_ones():
    team = channel(quiet_hours=(night(except_severity="critical"),))
    rows = [Row(1, 1), Row(2, 2, severity="critical")]
    plan = plan_batch(rows, team, "team", [], datetime(2024, 4, 24, 20, 30, tzinfo=UTC))
    assert list(plan.held) == [1] and "quiet hours until 2024-04-25T04:00:00Z" in plan.held[1][1]
    assert [[r.id for r in m] for m in plan.messages] == [[2]]


def test_plan_batch_applies_silences_added_while_deliveries_wait():
    plan = plan_batch([Row(1, 1, rule="a"), Row(2, 2, rule="b")], channel(), "team", [silence("rule=a")], T0)
    assert list(plan.suppressed) == [1] and [[r.id for r in m] for m in plan.messages] == [[2]]


def test_a_later_stage_of_a_fact_inhibits_earlier_ones_in_the_batch():
    rows = [Row(1, 10, kind="fact", fact="aid", stage=3, title="aid: stalled → passed-senate"),
            Row(2, 11, kind="item"),
            Row(3, 12, kind="fact", fact="aid", stage=4, title="aid: passed-senate → passed-house"),
            Row(4, 13, kind="fact", fact="funds", stage=None)]
    out = inhibited(rows)
    assert list(out) == [1]
    assert out[1] == "inhibited by alert #12, a later stage of the same fact: aid: passed-senate → passed-house"


def test_a_change_says_which_stages_it_jumped_over_since_the_channel_last_heard(tmp_path):
    from conftest import write_rules
    from watcher.ruleset import load_rules

    write_rules(tmp_path, """\
        facts:
          aid:
            describe: aid
            values: [requested, stalled, blocked, passed-senate, passed-house, signed]
            ordered: true
            known: stalled
            signals:
              - {value: blocked, backwards: true, match: {all: [blocks]}}
              - {value: passed-senate, match: {all: [senate passes]}}
              - {value: passed-house, match: {all: [house passes]}}
    """)
    aid = load_rules(tmp_path, environ={}).facts["aid"]
    assert skipped_stages(aid, "requested", "passed-senate") == ["stalled"]      # blocked: only a fallback
    assert skipped_stages(aid, "stalled", "passed-house") == ["passed-senate"]
    assert skipped_stages(aid, "passed-senate", "passed-house") == []            # the next stage
    assert skipped_stages(aid, "signed", "blocked") == []                        # a move back
    assert skipped_note(aid, "requested", "requested", "passed-senate") == "Stages skipped: stalled."
    assert skipped_note(aid, "stalled", "passed-senate", "passed-house") == \
        "Stages skipped: passed-senate (the last change sent here was to stalled)."
    assert skipped_note(aid, "passed-senate", "passed-senate", "passed-house") is None


def test_grouping_into_digests_keeps_order_and_caps_size():
    rows = [Row(i, i, digest=i != 3) for i in range(1, DIGEST_MAX + 6)]
    assert group(rows, None) == [[r] for r in rows]
    messages = group(rows, 0.0)
    assert [r.id for r in messages[0]] == [1, 2] and [r.id for r in messages[1]] == [3]
    assert len(messages[2]) == DIGEST_MAX and [r.id for m in messages for r in m] == [r.id for r in rows]


def test_digest_message_counts_severities_and_keeps_every_alert():
    one = Message("Drones <new>", "**a**", "a", "info")
    assert digest_message([one]) is one
    digest = digest_message([one, Message("Aid passes", "**b**", "b", "critical")])
    assert digest.title == "2 alerts (1 critical, 1 info): Drones <new>; Aid passes"
    assert digest.severity == "critical"
    assert "**1. Drones \\<new\\>**\n\n**a**" in digest.body and "2. Aid passes\n\nb" in digest.text
