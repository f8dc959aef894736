"""The feed keys of the rule language that polling reads, and the examples of docs/polling.md."""

from __future__ import annotations

import re

import pytest

from conftest import doc_section, run_cli, write_rules
from watcher.errors import RuleError
from watcher.ruleset import load_rules


def test_polling_keys_compile_with_defaults_from_settings(tmp_path):
    write_rules(tmp_path, """\
        settings:
          interval: 20m
          adaptive: true
          max_interval: 3h
          user_agent: "watcher (desk@example.org)"
        feeds:
          a: {url: "https://a.example/rss"}
          b:
            url: https://b.example/rss
            adaptive: false
            min_interval: 1m
            user_agent: special/1
            headers: {Authorization: "Bearer ${TOKEN}", X-Plain: "yes"}
            proxy: ${PROXY}
        """)
    ruleset = load_rules(tmp_path, environ={"TOKEN": "t0ken-123", "PROXY": "http://u:p@proxy.example:3128"})
    a, b = ruleset.feeds["a"], ruleset.feeds["b"]
    assert (a.interval, a.adaptive, a.min_interval, a.max_interval, a.user_agent) == (
        1200, True, None, 10800, "watcher (desk@example.org)")
    assert a.cadence.lowest == 300 and a.cadence.highest == 10800
    assert (b.adaptive, b.min_interval, b.user_agent) == (False, 60, "special/1")
    assert b.headers == (("Authorization", "Bearer t0ken-123"), ("X-Plain", "yes"))
    assert b.proxy.reveal() == "http://u:p@proxy.example:3128" and "u:p" not in repr(b)


@pytest.mark.parametrize("feed,message", [
    ("{url: 'https://a.example/', min_interval: 2h, max_interval: 1h}", "min_interval is longer than max_interval"),
    ("{url: 'https://a.example/', proxy: 'socks5://p.example'}", "a proxy is an http:// or https:// address"),
    ("{url: 'https://a.example/', proxy: '${NOPE}'}", "proxy: the environment variable NOPE is not set"),
    ("{url: 'https://a.example/', headers: {X-Key: '${NOPE}'}}", "headers.X-Key: the environment variable NOPE"),
    ("{url: 'https://a.example/', adaptive: sometimes}", "adaptive"),
])
def test_bad_polling_keys_are_located_errors(tmp_path, feed, message):
    write_rules(tmp_path, f"feeds:\n  a: {feed}\n")
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path, environ={})
    assert message in str(caught.value) and "rules.yaml:2:" in str(caught.value)


def test_the_polling_examples_validate(tmp_path):
    section = doc_section("polling.md", "# Polling")
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 4
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "feeds.yaml").write_text(blocks[0])
    (rules / "json-feed.yaml").write_text(blocks[1])
    (rules / "alerts.yaml").write_text(blocks[2] + "feeds:\n  other: {url: 'https://o.example/rss'}\n")
    (rules / "addresses.yaml").write_text(blocks[3])          # a feed on the newsroom's own network
    result = run_cli("validate", env={"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db"),
                                      "PAPER_TOKEN": "x" * 12, "NEWSROOM_PROXY": "http://proxy.example:3128"})
    assert result.returncode == 0, result.stdout + result.stderr
