"""Structured logs: one line per event, stable key=value (or JSON) fields, secrets masked."""

from __future__ import annotations

import io
import json
import logging

import pytest

from watcher import logs
from watcher.logs import event, register_secret

SECRET = "hunter2-token-XYZ"


@pytest.fixture
def capture():
    stream = io.StringIO()
    before = (logging.getLogger().handlers[:], logging.getLogger().level)

    def setup(fmt: str) -> io.StringIO:
        logs.setup("DEBUG", fmt, stream=stream)
        return stream

    yield setup
    logging.getLogger().handlers[:], level = before
    logging.getLogger().setLevel(level)
    logs._SECRETS.discard(SECRET)
    logs._SECRETS.discard('quo"te-secret')


def test_key_value_lines_have_stable_fields(capture):
    stream = capture("text")
    event(logging.getLogger("watcher.app"), logging.INFO, "poll", feed="wire", outcome="new", new=3,
          rule=None, duration=0.12345, error="fetch: cannot connect")
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert line.split(" ", 1)[1] == ('INFO watcher.app: poll feed=wire outcome=new new=3 duration=0.123 '
                                     'error="fetch: cannot connect"\n')
    assert line[:20].endswith("Z") and line[10] == "T"              # UTC timestamp first


def test_an_event_with_line_breaks_or_a_traceback_stays_on_one_line(capture):
    stream = capture("text")
    log = logging.getLogger("watcher.test")
    event(log, logging.ERROR, "rule reload failed", problems="2 problems\nrules.yaml:3:1: bad")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("poll crashed feed=%s", "wire")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert 'problems="2 problems\\nrules.yaml:3:1: bad"' in lines[0]
    assert "ERROR watcher.test: poll crashed feed=wire exc=" in lines[1]
    assert "ValueError: boom" in lines[1]


def test_json_lines_carry_the_same_fields(capture):
    stream = capture("json")
    event(logging.getLogger("watcher.dispatch"), logging.WARNING, "delivery failed", alert=7, rule="aid",
          channel="team", attempts=2, duration=1.5)
    record = json.loads(stream.getvalue())
    assert record["level"] == "WARNING" and record["logger"] == "watcher.dispatch"
    assert {k: record[k] for k in ("msg", "alert", "rule", "channel", "attempts", "duration")} == {
        "msg": "delivery failed", "alert": 7, "rule": "aid", "channel": "team", "attempts": 2, "duration": 1.5}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_registered_secrets_are_masked_everywhere_whoever_logs(capture, fmt):
    stream = capture(fmt)
    register_secret(SECRET, 'quo"te-secret', "short")
    event(logging.getLogger("watcher.deliver"), logging.ERROR, f"send to json://{SECRET}@host failed",
          url=f"json://host/?token={SECRET}", note='with quo"te-secret inside')
    logging.getLogger("apprise").error("posting to https://hooks.example/%s", SECRET)  # a library's own log
    try:
        raise RuntimeError(f"connect to {SECRET} refused")
    except RuntimeError:
        logging.getLogger("httpx").exception("request failed")
    out = stream.getvalue()
    assert SECRET not in out and "te-secret" not in out          # also when JSON would escape its quote
    assert out.count(logs.MASK) >= 4
    assert len(out.splitlines()) == 3
    assert logs.redact("a short word") == "a short word"  # too short to be a secret: never masked
