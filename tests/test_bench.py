"""The benchmark harness (bench/): its farm, rules, measurements and report are what they claim.

The benchmark itself is not run here (it takes an hour: `make bench`); these tests keep its
parts honest: the farm is deterministic and parses into the items it describes, the rule
folders load, the probe counts the CPU of processes it did not start directly, and nginx
(when installed) serves the farm with and without validators.
"""

from __future__ import annotations

import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench import farm, micro, report, rulesgen
from conftest import ROOT
from bench.passes import Run, changed_feeds, probe as probe_command
from watcher.parse import parse_feed
from watcher.ruleset import load_rules


def test_the_farm_is_byte_identical_for_the_same_arguments_and_varied_across_feeds():
    assert farm.render(7, farm.ITEMS) == farm.render(7, farm.ITEMS)
    kinds = [farm._kind(i) for i in range(1, 1001)]
    assert 0.10 < kinds.count("atom") / 1000 < 0.20
    assert 0.35 < kinds.count("rss-cdata") / 1000 < 0.50


@pytest.mark.parametrize("feed", [1, 2, 3, 5, 8, 13])
def test_farm_feeds_parse_into_fifty_realistic_items(feed):
    parsed = parse_feed(farm.render(feed, farm.ITEMS).encode(), f"http://127.0.0.1/v/{farm.name(feed)}",
                        "application/xml")
    assert len(parsed.items) == farm.ITEMS and parsed.warning is None
    assert all(i.title and i.link and i.guid and i.published_at and i.author for i in parsed.items)
    assert all(200 <= len(i.summary) <= 900 for i in parsed.items)
    assert len({i.key for i in parsed.items}) == farm.ITEMS


def test_a_changed_feed_has_one_new_item_on_top_and_drops_the_oldest(tmp_path):
    farm.build(tmp_path, 3)
    before = parse_feed((tmp_path / farm.name(2)).read_bytes(), "http://127.0.0.1/f")
    farm.change(tmp_path, 2, farm.ITEMS + 1, farm.probe_text("p0x0"))
    after = parse_feed((tmp_path / farm.name(2)).read_bytes(), "http://127.0.0.1/f")
    assert [i.key for i in after.items[1:]] == [i.key for i in before.items[:-1]]
    assert "Watcher latency probe p0x0" in after.items[0].summary
    farm.reset(tmp_path, [2])
    assert (tmp_path / farm.name(2)).read_text() == farm.render(2, farm.ITEMS)


def test_the_benchmark_rules_load_and_nearly_every_matcher_is_prefiltered(tmp_path):
    ruleset = load_rules(rulesgen.write(tmp_path / "rules", feeds=20, base_url="http://127.0.0.1:9/v"))
    assert len(ruleset.item_rules) == 201   # 200 rules and the latency probe
    bundled = load_rules(ROOT / "rules", channels=False)   # the facts come from the bundled rules
    signals = sum(len(f.signals) for f in bundled.facts.values())
    assert sum(len(f.signals) for f in ruleset.facts.values()) == signals
    total = 201 + signals
    assert ruleset.index.describe() == f"{total} of {total} matchers prefiltered"
    assert changed_feeds(1000) == list(range(20, 1001, 20))


def test_the_micro_benchmark_checks_that_both_ways_agree():
    items = micro.farm_items(4)
    result = micro.run_one(20, items, reps=1, plain_budget=0.2)
    assert result.identical and result.items == 200 and 0.05 < result.match_share < 0.6


def test_the_probe_counts_the_cpu_of_processes_started_by_a_forkserver(tmp_path):
    script = tmp_path / "burn.py"
    script.write_text(
        "import concurrent.futures as cf, multiprocessing as mp\n"
        "def burn(n):\n    return sum(range(n))\n"
        "if __name__ == '__main__':\n"
        "    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context('forkserver')) as ex:\n"
        "        print(ex.submit(burn, 30_000_000).result())\n")
    # through its command line, as the harness runs it: the probe makes itself a subreaper
    result = probe_command(tmp_path / "burn.json", [sys.executable, str(script)], timeout=120)
    assert result["rc"] == 0, (tmp_path / "burn.err").read_text()
    own = probe_command(tmp_path / "pass.json", [sys.executable, "-c", "pass"], timeout=60)
    # the sum runs in the worker, a grandchild: without the subreaper its CPU would be lost
    assert result["cpu"] > own["cpu"] + 0.3


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (`make bench` installs it)")
def test_nginx_serves_the_farm_with_and_without_validators(tmp_path):
    from bench import nginx

    farm.build(tmp_path / "farm", 2)
    with nginx.Nginx(nginx.ensure_installed(), tmp_path / "farm", tmp_path / "nginx") as server:
        with urllib.request.urlopen(f"{server.base}/v/{farm.name(1)}", timeout=10) as first:
            etag, body = first.headers["ETag"], first.read()
            assert first.status == 200 and etag and first.headers["Last-Modified"]
        conditional = urllib.request.Request(f"{server.base}/v/{farm.name(1)}", headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(conditional, timeout=10)
        assert not_modified.value.code == 304
        not_modified.value.close()
        ignoring = urllib.request.Request(f"{server.base}/v/{farm.name(1)}",
                                          headers={"If-None-Match": etag, "X-Bench-Validators": "off"})
        with urllib.request.urlopen(ignoring, timeout=10) as again:
            assert again.status == 200 and "ETag" not in again.headers and again.read() == body


def test_the_report_takes_medians_and_compares_with_the_peer_measured_in_the_same_run():
    runs = [Run("watcher", "warm", 1000, rep, wall, wall, 60, 60, 0) for rep, wall in enumerate([1.0, 3.0, 2.0])]
    runs += [Run("urlwatch", "warm", 1000, rep, wall, wall, 50, 50, 0) for rep, wall in enumerate([4.0, 4.4, 3.6])]
    summary = report.summarise(runs)
    assert summary[(1000, "warm", "watcher")]["wall"] == 2.0 and summary[(1000, "warm", "urlwatch")]["wall"] == 4.0
    table = "\n".join(report._pass_table(summary, [1000]))
    assert "**0.50**" in table and "±50%" in table
    assert "at most half of urlwatch's time | 0.50x | yes" in "\n".join(report.targets(summary, [], []))
    assert table.count("\n| 1,000 |") == 2   # one row per tool


def test_the_extraction_benchmark_scores_every_reader_on_the_same_set():
    from bench import extraction

    cases = extraction.load_cases()
    mine = extraction.score("watcher", extraction.watcher_reading, cases, reps=1)
    before = extraction.score("today's {number}", extraction.baseline_reading, cases, reps=1)
    assert sum(n for _, n in mine.right.values()) == sum(n for _, n in before.right.values()) == len(cases)
    assert [case.text for case, _ in mine.misses] == [case.text for case in cases if case.gap]
    text = extraction.report([mine, before], ["quantulum3"], cases, {}, {"range": (1.5, 2.25)})
    assert "| quantulum3 | not installed |" in text and "`{range}` 1.50 / 2.25" in text
    assert "read 500 pp, expected nothing" in text      # a known miss is listed with its reason
