"""Channels in rule files: apprise config files, delivery options and their errors, and secrets
that never reach logs, error messages or the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import doc_section, rfc822, run_cli, write_rules
from servers import rss
from watcher.deliver import Channels, check_config, check_url
from watcher.errors import RuleError
from watcher.ruleset import load_rules

ALERT = """\
alerts:
  - name: drones
    on: {items: {all: [drones?]}}
    notify: [team]
"""


def load(folder: Path, text: str, **environ: str):
    path = write_rules(folder, text)
    try:
        return load_rules(folder, check_url=check_url, check_config=check_config, environ=environ)
    except RuleError as exc:
        return [str(p).replace(f"{path}:", "") for p in exc.problems]


def config_file(folder: Path, text: str, mode: int = 0o600, name: str = ".team.apprise.yml") -> Path:
    path = folder / name
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_channel_can_take_its_urls_from_an_apprise_config_file(rules_dir, receiver):
    config_file(rules_dir, f"""\
urls:
  - {receiver.url('/desk')}:
      tag: desk
  - {receiver.url('/ops')}:
      tag: ops
""")
    ruleset = load(rules_dir, ALERT + "channels:\n  team: {config: .team.apprise.yml, tag: desk}\n")
    team = ruleset.channels["team"]
    assert team.config == str((rules_dir / ".team.apprise.yml").resolve()) and team.tag == "desk"
    channels = Channels(ruleset.channels)
    assert [s.target for s in channels.services("team")] == [f"json://127.0.0.1:{receiver.port}/desk"]


@pytest.mark.parametrize("text,config,mode,message", [
    ("team: {config: .team.apprise.yml}", "urls:\n  - json://127.0.0.1/x\n", 0o644,
     "the apprise config file {path} holds secrets but other users can read or change it (mode 644); "
     "restrict it: chmod 600 {path}"),
    ("team: {config: .team.apprise.yml}", "urls:\n  - json://127.0.0.1/x\n  - slack://T1JJ3T3L2SECRET/only\n",
     0o600, "the apprise config file {path} has URLs apprise cannot use: slack://…/… (check the service names "
            "and their parts: https://github.com/caronc/apprise/wiki)"),
    ("team: {config: .team.apprise.yml, tag: desk}", "urls:\n  - json://127.0.0.1/x:\n      tag: ops\n", 0o600,
     'no service in the apprise config file {path} has the tag "desk"'),
    ("team: {config: .missing.yml}", None, 0o600, "the apprise config file {missing} does not exist"),
])
def test_config_file_problems_are_located_and_masked(rules_dir, text, config, mode, message):
    path = config_file(rules_dir, config, mode) if config is not None else None
    missing = (rules_dir / ".missing.yml").resolve()
    found = load(rules_dir, ALERT + "channels:\n  " + text + "\n")
    expected = message.format(path=path.resolve() if path else "", missing=missing)
    assert found == [f'6:18: channel "team": {expected}']
    assert all("SECRET" not in p for p in found)


@pytest.mark.parametrize("channel,message", [
    ("{url: 'json://127.0.0.1/x', config: x.yml}", "a channel needs exactly one of `url` or `config`"),
    ("{url: 'json://127.0.0.1/x', tag: desk}", "`tag` only applies to a channel with `config`"),
    ("{url: 'json://127.0.0.1/x', digest: soon}", "digest: expected a duration such as 30s, 15m, 2h or 1d, "
                                                   "got 'soon'"),
    ("{url: 'json://127.0.0.1/x', min_severity: loud}", "min_severity: 'loud' is not allowed here; use one of "
                                                         "'info', 'warning' or 'critical'"),
    ("{url: 'json://127.0.0.1/x', quiet_hours: {start: '22:00', end: '25:00'}}",
     "quiet_hours[0].end: expected a time of day such as \"22:00\", got '25:00'"),
    ("{url: 'json://127.0.0.1/x', quiet_hours: {start: '22:00', end: '7:00', timezone: Europe/Kiyv}}",
     'quiet_hours[0].timezone: unknown time zone "Europe/Kiyv" (use an IANA name such as Europe/Kyiv or UTC)'),
    ("{url: 'json://127.0.0.1/x', quiet_hours: {start: '22:00'}}",
     "quiet_hours[0]: quiet hours need both `start` and `end` (or neither, with `days`)"),
])
def test_channel_option_errors_have_exact_messages(rules_dir, channel, message):
    found = load(rules_dir, ALERT + f"channels:\n  team: {channel}\n")
    assert len(found) == 1 and found[0].endswith(f'channel "team": {message}'), found


def test_channel_options_compile(rules_dir):
    ruleset = load(rules_dir, ALERT.replace("notify: [team]", "notify: [team]\n    realert: 2h\n    digest: false")
                   + """\
settings:
  delivery: {give_up: 6h}
channels:
  team:
    url: json://127.0.0.1/x
    format: markdown
    min_severity: warning
    digest: cycle
    quiet_hours:
      - {start: "22:00", end: "07:00", timezone: Europe/Kyiv, except_severity: critical}
      - {days: [sat, sun]}
  desk: {url: json://127.0.0.1/y, digest: 15m, give_up: 1d}
""")
    team, desk = ruleset.channels["team"], ruleset.channels["desk"]
    assert (team.format, team.min_severity, team.digest, team.give_up) == ("markdown", "warning", 0.0, 21600.0)
    assert [(str(q.start), str(q.end), q.timezone, q.days, q.except_severity) for q in team.quiet_hours] == [
        ("22:00:00", "07:00:00", "Europe/Kyiv", None, "critical"), ("None", "None", "UTC", frozenset({5, 6}), None)]
    assert (desk.digest, desk.give_up, desk.quiet_hours) == (900.0, 86400.0, ())
    rule = ruleset.alerts["drones"]
    assert (rule.realert, rule.realert_key, rule.digest) == (7200.0, None, False)


def test_secrets_never_reach_logs_errors_or_the_database(tmp_path, feed_server, receiver):
    """A failing channel whose URL holds a password and a header secret, and a config file with
    a token: run the real command, then scan its output, the CLI's views and the database files."""
    password, header, token = "Pa55wordSecret", "HeaderSecret123", "XoxbTokenSecret9"
    rules = tmp_path / "rules"
    rules.mkdir()
    config = config_file(tmp_path, f"urls:\n  - json://bot:{token}@127.0.0.1:{receiver.port}/desk\n",
                         name="desk.apprise.yml")
    write_rules(rules, f"""\
settings: {{backlog: {{alerts: 1d}}}}
feeds:
  wire: {{url: "{feed_server.url('/wire.xml')}"}}
alerts:
  - name: drones
    on: {{items: {{all: [drones?]}}}}
channels:
  team: ${{TEAM_URL}}
  desk: {{config: {config}}}
""")
    from datetime import datetime, UTC
    feed_server.set("/wire.xml", rss([{"title": "Drones over the harbour", "guid": "1",
                                       "pubDate": rfc822(datetime.now(UTC))}]))
    team_url = f"json://ops:{password}@127.0.0.1:{receiver.port}/team?+X-Api-Key={header}"
    env = {"TEAM_URL": team_url, "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db"),
           "WATCHER_LOG_LEVEL": "DEBUG"}
    receiver.fail_next(-1)
    commands = [("check",), ("alerts", "--failed"), ("alerts", "show", "1"), ("notify-test", "team"),
                ("alerts", "--json")]
    outputs = [run_cli(*command, env=env) for command in commands]
    bad_env = {**env, "TEAM_URL": f"slack://{token}/{password}"}          # apprise cannot use it
    outputs.append(run_cli("validate", env=bad_env))
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert "delivery failed" in outputs[0].stderr and outputs[1].stdout.count("failure") >= 1
    assert outputs[-1].returncode == 1 and 'channel "team"' in outputs[-1].stdout + outputs[-1].stderr
    text = "\n".join(o.stdout + o.stderr for o in outputs)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("w.db*"))
    for secret in (password, header, token):
        assert secret not in text, secret
        assert secret.encode() not in stored, secret
    attempts = sqlite3.connect(tmp_path / "w.db").execute("SELECT target FROM delivery_attempts").fetchall()
    assert {t for (t,) in attempts} >= {f"json://ops:****@127.0.0.1:{receiver.port}/team"}


def test_each_command_needs_only_the_secrets_it_uses(tmp_path, feed_server, receiver):
    """notify-test CHANNEL needs that channel's secret; facts set none, or with --alert those of
    the channels its alerts go to; the board, explain and backtest none (feed headers included)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, f"""\
        feeds:
          paper: {{url: "{feed_server.url('/paper.xml')}", headers: {{Authorization: "Bearer ${{PAPER_TOKEN}}"}}}}
        facts:
          aid: {{describe: aid package, values: [stalled, passed, signed], known: stalled}}
          amount: {{describe: aid amount, kind: number, unit: USD, known: 60bn}}
        alerts:
          - {{name: aid-passed, on: {{fact: aid, to: [passed]}}, notify: [team]}}
          - {{name: aid-signed, on: {{fact: aid, to: [signed]}}, notify: [ops]}}
        channels:
          team: ${{TEAM_URL}}
          ops: ${{OPS_URL}}
    """)
    bare = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    team = {**bare, "TEAM_URL": receiver.url("/team")}
    tested = run_cli("notify-test", "team", env=team)
    assert tested.returncode == 0, tested.stderr
    assert receiver.titles() == ["watcher test message"]
    other = run_cli("notify-test", "ops", env=team)
    assert other.returncode == 1 and 'channel "ops": the environment variable OPS_URL is not set' in other.stderr
    assert "TEAM_URL" not in other.stderr and "PAPER_TOKEN" not in other.stderr
    corrected = run_cli("facts", "set", "amount", "$61 billion", "--note", "final text", env=bare)
    assert corrected.returncode == 0, corrected.stderr
    alerted = run_cli("facts", "set", "aid", "passed", "--alert", env=team)     # aid-passed goes to team
    assert alerted.returncode == 0 and "1 alerts queued" in alerted.stdout, alerted.stderr
    refused = run_cli("facts", "set", "aid", "signed", "--alert", env=team)     # aid-signed goes to ops
    assert refused.returncode == 1 and "OPS_URL is not set" in refused.stderr
    board = run_cli("facts", env=bare)
    assert "amount: 61 billion USD" in board.stdout and "aid: passed" in board.stdout, board.stdout
    feed = tmp_path / "paper.xml"
    feed.write_text(rss([{"title": "Senate passes aid", "guid": "1"}]))
    assert run_cli("explain", str(feed), env=bare).returncode == 0
    replay = run_cli("backtest", env=bare)
    assert replay.returncode == 0, replay.stderr


def test_the_delivery_example_loads(tmp_path, monkeypatch):
    example = doc_section("delivery.md", "# Delivery").split("```yaml", 1)[1].split("```", 1)[0]
    rules = tmp_path / "rules"
    rules.mkdir()
    secrets = config_file(tmp_path, "urls:\n  - json://127.0.0.1/desk:\n      tag: desk\n", name="newsroom.yml")
    write_rules(rules, example.replace("/run/secrets/newsroom.apprise.yml", str(secrets)))
    write_rules(rules, "facts:\n  us-aid-package: {describe: aid, known: stalled}\n", name="facts.yaml")
    monkeypatch.setenv("POLICY_TEAM_APPRISE_URL", "json://127.0.0.1/policy")
    ruleset = load_rules(rules, check_url=check_url, check_config=check_config)
    assert ruleset.channels["policy-team"].quiet_hours[0].except_severity == "critical"
    assert ruleset.channels["newsroom"].digest == 0.0 and ruleset.alerts["coproduction-news"].realert == 3600


def test_the_json_schema_allows_the_short_forms():
    from watcher.ruleset.schema import RuleFile

    defs = RuleFile.model_json_schema()["$defs"]
    digest = defs["ChannelSpec"]["properties"]["digest"]["anyOf"]
    assert {"examples": ["cycle", "10m"], "type": ["string", "number"]} in digest
    assert {"examples": ["1h"], "type": ["string", "number"]} in defs["AlertSpec"]["properties"]["realert"]["anyOf"]
    assert {"$ref": "#/$defs/QuietHours"} in defs["ChannelSpec"]["properties"]["quiet_hours"]["anyOf"]
