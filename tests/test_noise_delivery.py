"""Noise control end to end, in process, with an explicit clock: a real feed server, a real
webhook receiver behind apprise's json://, a real SQLite file. Each test moves the clock by hand."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from datetime import datetime, timedelta, UTC
from pathlib import Path

from conftest import LOOPBACK, rfc822, run_cli, write_rules
from servers import rss
from watcher.app import Settings, Watcher
from watcher.noise import parse_matcher
from watcher.store import silences

T0 = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)  # a Wednesday; Kyiv is UTC+3

FACT = """\
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {all: [senate, ukraine, passes], scope: [title]}
      - value: passed-house
        match: {all: [house, ukraine, passes], scope: [title]}
"""


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Rig:
    """A watcher on two feeds (wire, wire2) whose channel ``team`` posts to the receiver."""

    def __init__(self, tmp_path: Path, feed_server, receiver, monkeypatch, rules: str, start: datetime = T0):
        self.feed_server, self.receiver = feed_server, receiver
        self.clock = Clock(start)
        folder = tmp_path / "rules"
        folder.mkdir()
        write_rules(folder, rules.replace("WIRE2_URL", feed_server.url("/wire2.xml"))
                    .replace("WIRE_URL", feed_server.url("/wire.xml")))
        monkeypatch.setenv("TEAM_URL", receiver.url("/team"))
        monkeypatch.setenv("PAGER_URL", receiver.url("/pager"))
        self.items: dict[str, list[dict[str, str]]] = {"wire": [], "wire2": []}
        self.publish("wire")
        self.publish("wire2")
        self.watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                                        rules=folder, db=tmp_path / "w.db", parse_workers=0, watch_rules=False),
                               clock=self.clock, console=io.StringIO())
        self.db = tmp_path / "w.db"

    def publish(self, feed: str, *titles: str) -> None:
        for title in titles:
            n = sum(len(v) for v in self.items.values())
            self.items[feed].append({"title": title, "guid": f"{feed}-{n}", "link": f"https://news.example/{n}",
                                     "pubDate": rfc822(self.clock.now)})
        self.feed_server.set(f"/{feed}.xml", rss(self.items[feed]))

    async def poll(self, *feeds: str) -> None:
        for feed in feeds or ("wire", "wire2"):
            await self.watcher.poll(feed)

    async def deliver(self):
        assert self.watcher.dispatcher is not None
        return await self.watcher.dispatcher.deliver_due()

    def rows(self, sql: str) -> list[tuple]:
        db = sqlite3.connect(self.db)
        try:
            return [tuple(r) for r in db.execute(sql)]
        finally:
            db.close()

    def run(self, scenario) -> None:
        async def go():
            await self.watcher.open()
            try:
                await self.poll()         # first polls: empty feeds, the backlog is nothing
                await scenario()
            finally:
                await self.watcher.close()
        asyncio.run(go())


FEEDS = """\
feeds:
  wire: {url: "WIRE_URL"}
  wire2: {url: "WIRE2_URL"}
"""


def items_rules(extra: str = "", channel: str = "") -> str:
    return FEEDS + f"""\
alerts:
  - name: drones
    on: {{items: {{all: [drones?]}}}}
    notify: [team]
    {extra}
channels:
  team:
    url: ${{TEAM_URL}}
    {channel}
"""


def test_realert_sends_one_alert_per_rule_and_key_per_interval(tmp_path, feed_server, receiver, monkeypatch):
    rules = items_rules(extra='realert: {every: 1h, key: "{{ item.feed }}"}')
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)

    async def scenario():
        rig.publish("wire", "Drones one", "Drones two")
        rig.publish("wire2", "Drones elsewhere")
        await rig.poll()
        await rig.deliver()
        rig.clock.advance(minutes=30)
        rig.publish("wire", "Drones three")
        await rig.poll()
        await rig.deliver()
        rig.clock.advance(minutes=31)              # 61 minutes after the first
        rig.publish("wire", "Drones four")
        await rig.poll()
        await rig.deliver()

    rig.run(scenario)
    assert sorted(receiver.titles()) == ["Drones elsewhere", "Drones four", "Drones one"]
    suppressed = rig.rows("SELECT a.title, d.note FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                          "WHERE d.state = 'suppressed' ORDER BY a.id")
    assert [t for t, _ in suppressed] == ["Drones two", "Drones three"]
    assert all("realert: alert #1 of this rule and key" in note and "every 1h" in note for _, note in suppressed)
    shown = run_cli("alerts", "--suppressed", env={"WATCHER_DB": str(rig.db)}).stdout
    assert "drones: Drones three\n    team=suppressed\n    team (delivery 4): realert: alert #1" in shown
    assert "Drones four" not in shown and "Drones two" in shown


def test_digest_window_groups_alerts_into_one_message(tmp_path, feed_server, receiver, monkeypatch):
    rules = items_rules(channel="digest: 10m")
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)
    reports = []

    async def scenario():
        rig.publish("wire", "Drones one", "Drones two")
        await rig.poll()
        reports.append(await rig.deliver())         # the digest is open until T0+10m: nothing yet
        rig.clock.advance(minutes=5)
        rig.publish("wire2", "Drones three")
        await rig.poll()
        reports.append(await rig.deliver())
        rig.clock.advance(minutes=5)
        reports.append(await rig.deliver())         # T0+10m: one message with the three
        rig.clock.advance(minutes=2)
        rig.publish("wire", "Drones four")
        await rig.poll()
        rig.clock.advance(minutes=9)
        reports.append(await rig.deliver())         # the next digest closes at T0+22m
        rig.clock.advance(minutes=1)
        reports.append(await rig.deliver())

    rig.run(scenario)
    assert [(r.sent, r.messages) for r in reports] == [(0, 0), (0, 0), (3, 1), (0, 0), (1, 1)]
    assert receiver.titles() == ["3 alerts (3 info): Drones one; Drones two; Drones three", "Drones four"]
    body = receiver.received[0]["message"]
    assert body.index("1. Drones one") < body.index("2. Drones two") < body.index("3. Drones three")


def fact_rules(channels: str, notify: str = "[team]", fact: str = FACT) -> str:
    """``fact`` on the two feeds, an alert on its changes to ``notify``, and ``channels``."""
    return fact + FEEDS + f"alerts:\n  - name: aid-changed\n    on: {{fact: aid}}\n    notify: {notify}\n" \
        + "channels:\n" + channels


def test_a_later_stage_inhibits_an_earlier_one_in_the_same_batch(tmp_path, feed_server, receiver, monkeypatch):
    rules = fact_rules('  team: {url: "${TEAM_URL}", digest: 10m}\n')
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)

    async def scenario():
        rig.publish("wire", "Senate passes Ukraine aid")
        await rig.poll("wire")
        rig.clock.advance(minutes=2)
        rig.publish("wire2", "House passes Ukraine aid")
        await rig.poll("wire2")
        rig.clock.advance(minutes=10)
        await rig.deliver()

    rig.run(scenario)
    assert receiver.titles() == ["US aid package for Ukraine: passed-senate → passed-house"]
    # the channel never got "stalled → passed-senate": the alert it gets says so
    assert receiver.received[0]["message"].endswith(
        "\n\nStages skipped: passed-senate (the last change sent here was to stalled).")
    states = rig.rows("SELECT a.title, d.state, d.note FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                      "ORDER BY a.id")
    assert states[0][:2] == ("US aid package for Ukraine: stalled → passed-senate", "suppressed")
    assert states[0][2].startswith("inhibited by alert #2, a later stage of the same fact")
    assert states[1][1] == "sent"


def test_a_change_that_skips_stages_or_follows_a_silenced_one_says_which_stages_it_jumped_over(
        tmp_path, feed_server, receiver, monkeypatch):
    fact = FACT.replace("values: [stalled, passed-senate, passed-house, signed]",
                        "values: [stalled, passed-senate, passed-house, passed-congress, signed]") \
        + "      - value: signed\n        match: {all: [biden, signs, ukraine], scope: [title]}\n"
    rules = fact_rules('  team: "${TEAM_URL}"\n  desk: {url: "${PAGER_URL}", format: markdown}\n', "[team, desk]", fact)
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)

    async def scenario():
        for title, desk_silenced in (("Senate passes Ukraine aid", False), ("House passes Ukraine aid", True),
                                     ("Biden signs Ukraine aid", False)):
            if desk_silenced:
                rig.watcher.store.run(silences.add, [parse_matcher("channel=desk")], rig.clock.now,
                                      rig.clock.now + timedelta(minutes=1), comment="vote day", now=rig.clock.now)
            rig.publish("wire", title)
            await rig.poll("wire")
            await rig.deliver()
            rig.clock.advance(minutes=2)

    rig.run(scenario)
    got = sorted((path, r["title"], r["message"].rsplit("\n\n", 1)[-1])
                 for path, r in zip(receiver.paths, receiver.received, strict=True))
    assert [(path, title) for path, title, _ in got] == [
        ("/pager", "US aid package for Ukraine: passed-house → signed"),     # the desk missed passed-house
        ("/pager", "US aid package for Ukraine: stalled → passed-senate"),
        ("/team", "US aid package for Ukraine: passed-house → signed"),
        ("/team", "US aid package for Ukraine: passed-senate → passed-house"),
        ("/team", "US aid package for Ukraine: stalled → passed-senate")]
    assert got[0][2] == ("Stages skipped: passed-house, passed-congress (the last change sent here was to "
                         "passed-senate).")                                  # markdown: nothing to escape here
    assert got[2][2] == "Stages skipped: passed-congress."                    # the fact itself skipped one
    assert not any(line.startswith("Stages skipped") for _, _, line in got[1:2] + got[3:])


def test_silences_suppress_while_active_and_expire(tmp_path, feed_server, receiver, monkeypatch):
    rules = items_rules(channel="digest: 30m")
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)

    def add_silence(matcher: str, hours: float) -> None:
        assert rig.watcher.store is not None
        rig.watcher.store.run(silences.add, [parse_matcher(matcher)], rig.clock.now,
                              rig.clock.now + timedelta(hours=hours), comment="vote day", now=rig.clock.now)

    async def scenario():
        rig.publish("wire", "Drones before")          # queued in a digest until T0+30m ...
        await rig.poll()
        add_silence("feed=wire", 2)                   # ... when a silence starts: it applies at send time
        rig.publish("wire", "Drones while silenced")
        rig.publish("wire2", "Drones from elsewhere")
        rig.clock.advance(minutes=1)
        await rig.poll()
        rig.clock.advance(minutes=30)
        await rig.deliver()
        rig.clock.advance(hours=2)                    # the silence has ended
        rig.publish("wire", "Drones after")
        await rig.poll()
        rig.clock.advance(minutes=30)
        await rig.deliver()

    rig.run(scenario)
    assert receiver.titles() == ["Drones from elsewhere", "Drones after"]
    notes = rig.rows("SELECT a.title, d.note FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
                     "WHERE d.state = 'suppressed' ORDER BY a.id")
    assert [t for t, _ in notes] == ["Drones before", "Drones while silenced"]
    assert all(note == "silenced by silence 1 until 2024-04-24T14:00:00Z: vote day" for _, note in notes)


def test_quiet_hours_hold_deliveries_until_they_end_but_not_urgent_ones(tmp_path, feed_server, receiver,
                                                                       monkeypatch):
    rules = FACT + """\
feeds:
  wire: {url: "WIRE_URL"}
  wire2: {url: "WIRE2_URL"}
alerts:
  - name: aid-changed
    on: {fact: aid}
    severity: critical
    notify: [team]
  - name: drones
    on: {items: {all: [drones?]}}
    notify: [team]
channels:
  team:
    url: ${TEAM_URL}
    quiet_hours: {start: "22:00", end: "07:00", timezone: Europe/Kyiv, except_severity: critical}
"""
    night = datetime(2024, 4, 24, 20, 30, tzinfo=UTC)    # 23:30 in Kyiv
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules, start=night)
    seen = []

    async def scenario():
        rig.publish("wire", "Drones at night", "Senate passes Ukraine aid")
        await rig.poll("wire")
        await rig.deliver()
        seen.append(receiver.titles())
        rig.clock.now = datetime(2024, 4, 25, 3, 59, tzinfo=UTC)   # 06:59 in Kyiv
        await rig.deliver()
        seen.append(receiver.titles())
        rig.clock.now = datetime(2024, 4, 25, 4, 0, tzinfo=UTC)    # 07:00 in Kyiv
        await rig.deliver()
        seen.append(receiver.titles())

    rig.run(scenario)
    aid = "US aid package for Ukraine: stalled → passed-senate"
    assert seen == [[aid], [aid], [aid, "Drones at night"]]


def test_routing_by_severity_records_what_a_channel_does_not_take(tmp_path, feed_server, receiver, monkeypatch):
    rules = FACT + """\
feeds:
  wire: {url: "WIRE_URL"}
  wire2: {url: "WIRE2_URL"}
alerts:
  - name: aid-changed
    on: {fact: aid}
    severity: critical
  - name: drones
    on: {items: {all: [drones?]}}
channels:
  team: ${TEAM_URL}
  pager: {url: "${PAGER_URL}", min_severity: critical}
"""
    rig = Rig(tmp_path, feed_server, receiver, monkeypatch, rules)

    async def scenario():
        rig.publish("wire", "Drones seen", "Senate passes Ukraine aid")
        await rig.poll("wire")
        await rig.deliver()

    rig.run(scenario)
    got = sorted(zip(receiver.paths, receiver.titles(), strict=True))
    aid = "US aid package for Ukraine: stalled → passed-senate"
    assert got == [("/pager", aid), ("/team", "Drones seen"), ("/team", aid)]
    skipped = rig.rows("SELECT channel, state, note FROM deliveries WHERE state = 'suppressed'")
    assert skipped == [("pager", "suppressed", "severity info is below the channel's min_severity critical")]


def test_silence_commands(tmp_path):
    env = {"WATCHER_DB": str(tmp_path / "w.db"), "WATCHER_RULES": str(tmp_path)}
    added = run_cli("silence", "add", "rule=drones", "severity!=critical", "--for", "2h", "--comment", "vote",
                    env=env)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("silence 1: rule=drones severity!=critical until ") and "(2h)" in added.stdout
    listed = run_cli("silence", "list", env=env)
    assert "rule=drones severity!=critical" in listed.stdout and "active" in listed.stdout
    bad = run_cli("silence", "add", "colour=red", env=env)
    assert bad.returncode == 2 and 'unknown matcher key "colour"' in bad.stderr
    assert run_cli("silence", "remove", "1", env=env).stdout.strip() == "silence 1 ended"
    assert run_cli("silence", "list", env=env).stdout.strip() == "no silences in force"
    assert "ended" in run_cli("silence", "list", "--all", env=env).stdout
    again = run_cli("silence", "remove", "1", env=env)
    assert again.returncode == 1 and "no silence 1 in force" in again.stderr
