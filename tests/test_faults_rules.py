"""Hostile rule files while the daemon runs: a huge file, YAML built to be slow to read (deep
nesting, an alias "billion laughs"), a file caught half-written, and a file rewritten piece by
piece while reloads run. Each is refused with a located message, the last good rules keep
running (their feeds keep being polled), and the complete file loads once it is there.
(Arbitrary YAML documents are covered by the property tests in ``test_ruleset_fuzz.py``.)"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from conftest import write_rules
from inprocess import LogLines, Running, settings, until
from servers import rss
from watcher.errors import RuleError
from watcher.ruleset import load_rules
from watcher.ruleset.yamlsrc import MAX_FILE_BYTES


def _feeds(feed_server, names: list[str]) -> str:
    for name in names:
        feed_server.set(f"/{name}", rss([]))
    return "feeds:\n" + "".join(f"  {n}: {{url: \"{feed_server.url('/' + n)}\", interval: 1s}}\n" for n in names)


def _alias_bomb() -> str:
    """Nine levels of lists of nine references to the level below: 9**9 strings once expanded."""
    lines = ['  f0: {url: "https://x.example/", tags: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]}']
    lines += [f'  f{i}: {{url: "https://x.example/", tags: &a{i} [' + ",".join([f"*a{i - 1}"] * 9) + "]}"
              for i in range(1, 10)]
    return "feeds:\n" + "\n".join(lines) + "\n"


def test_hostile_rule_files_are_refused_with_a_location(rules_dir):
    """Each alone in the rules folder: refused and located. None of them may keep a reload busy:
    the huge file is not even read whole, and deep [ ] nesting is refused before ruamel's scanner
    (whose cost grows with the square of the depth: 10 s of CPU for this file) reads it."""
    cases = {
        "huge.yaml": None,
        "deep.yaml": "feeds:\n  f: {url: 'https://x.example/', tags: " + "[" * 100_000 + "]" * 100_000 + "}\n",
        "laughs.yaml": _alias_bomb(),
    }
    expected = {
        "huge.yaml": f"huge.yaml:1:1: the file is 52,428,800 bytes; rule files are limited to {MAX_FILE_BYTES:,} bytes",
        # the 65th bracket: refused before ruamel's scanner sees it
        "deep.yaml": "deep.yaml:2:103: this YAML is nested too deeply: more than 64 [ ] or { } lists inside "
                     "one another",
        # one problem per reference (9 feeds x 9; located at the anchor), never one per expanded string (9**9)
        "laughs.yaml": 'laughs.yaml:2:41: feed "f1": tags[0]: expected text, got a list',
    }
    counts = {"huge.yaml": 1, "deep.yaml": 1, "laughs.yaml": 81}
    for name, text in cases.items():
        for old in rules_dir.iterdir():
            old.unlink()
        path = rules_dir / name
        if text is None:
            with path.open("wb") as f:         # sparse: 50 MB on paper, nothing on the disk
                f.truncate(50 * 1024 * 1024)
        else:
            path.write_text(text)
        with pytest.raises(RuleError) as caught:
            load_rules(rules_dir, environ={})
        message = str(caught.value)
        assert len(caught.value.problems) == counts[name] and expected[name] in message, (name, message[:500])


def test_a_huge_or_half_written_file_keeps_the_last_good_rules_running(tmp_path, rules_dir, feed_server):
    good = _feeds(feed_server, ["wire"])
    rule_file = write_rules(rules_dir, good)
    complete = _feeds(feed_server, ["wire", "agency"]) + "alerts:\n  - name: drones\n    on: {items: {all: [drones]}}\n"

    async def scenario(logs: LogLines) -> None:
        async with Running(settings(tmp_path, rules_dir)) as daemon:
            watcher = daemon.watcher
            await until(lambda: feed_server.count("/wire") >= 1, 30, "the first poll")
            digest = watcher.ruleset.digest

            huge = rules_dir / "notes.yaml"           # e.g. a log saved into the rules folder by mistake
            with huge.open("wb") as f:
                f.truncate(50 * 1024 * 1024)
            assert not await watcher.reload()
            assert watcher.ruleset.digest == digest and "rule files are limited to" in watcher.last_reload_error
            polls = feed_server.count("/wire")
            await until(lambda: feed_server.count("/wire") >= polls + 2, 30, "polls under the old rules")
            huge.unlink()

            rule_file.write_text("")                  # `cat new.yaml > rules.yaml` has just begun
            assert not await watcher.reload()
            assert "rules.yaml:1:1: the file is empty now but had rules" in watcher.last_reload_error
            assert watcher.ruleset.digest == digest

            rule_file.write_text(complete[: len(complete) // 2 + 7])   # the editor has written half of it
            assert not await watcher.reload()
            assert watcher.ruleset.digest == digest
            assert "rules.yaml:" in watcher.last_reload_error
            assert not next(c for c in watcher.ready() if c.name == "rules").ok
            polls = feed_server.count("/wire")
            await until(lambda: feed_server.count("/wire") >= polls + 2, 30, "polls under the old rules")

            rule_file.write_text(complete)
            assert await watcher.reload()
            assert set(watcher.ruleset.feeds) == {"wire", "agency"} and "drones" in watcher.ruleset.alerts
            await until(lambda: feed_server.count("/agency") >= 1, 30, "the new feed's first poll")
            assert next(c for c in watcher.ready() if c.name == "rules").ok

    with LogLines() as logs:
        asyncio.run(scenario(logs))
    assert len(logs.having("rule reload failed; keeping the last good rules")) == 3
    assert not logs.tracebacks


def test_a_file_rewritten_piece_by_piece_during_reloads_ends_with_the_complete_rules(tmp_path, rules_dir,
                                                                                      feed_server):
    """The rule file is emptied and rewritten in small pieces (as `cat > file` or a copy over the
    network does) while reloads keep coming (the file watcher, and SIGHUPs, here direct calls
    that overlap): every applied rule set is the old one or the new one, never a mix or none,
    failures are one log line each, and the daemon ends on the complete new file."""
    old = _feeds(feed_server, ["wire"])
    new = _feeds(feed_server, ["wire", "agency", "blog"]) + "".join(
        f"  - name: rule-{n}\n    on: {{items: {{all: [word{n}]}}}}\n" for n in range(30)).join(["alerts:\n", ""])
    rule_file = write_rules(rules_dir, old)

    def rewrite() -> None:
        # each write runs from the middle of a line to the middle of the next, so a reader sees
        # the emptied file, a file cut inside a line (never valid here), or the whole file
        lines = new.splitlines(keepends=True)
        cuts = [0] + [sum(map(len, lines[:n])) + len(lines[n]) // 2 for n in range(len(lines))] + [len(new)]
        with rule_file.open("w") as f:
            for start, end in itertools.pairwise(cuts):
                f.write(new[start:end])
                f.flush()
                time.sleep(0.02)

    async def scenario(logs: LogLines) -> list[set[str]]:
        seen: list[set[str]] = []
        async with Running(settings(tmp_path, rules_dir, watch_rules=True)) as daemon:
            watcher = daemon.watcher
            await until(lambda: feed_server.count("/wire") >= 1, 30, "the first poll")
            writer = threading.Thread(target=rewrite)
            writer.start()
            while writer.is_alive():
                await asyncio.gather(watcher.reload(), watcher.reload())      # overlapping reloads
                seen.append(set(watcher.ruleset.feeds))
            writer.join()
            # the file watcher's reload after the last write brings in the complete file
            await until(lambda: set(watcher.ruleset.feeds) == {"wire", "agency", "blog"}, 30, "the complete rules")
            assert len(watcher.ruleset.alerts) == 30 and watcher.last_reload_ok
            await until(lambda: feed_server.count("/blog") >= 1, 30, "a poll of a new feed")
        return seen

    with LogLines() as logs:
        seen = asyncio.run(scenario(logs))
    assert seen and all(s in ({"wire"}, {"wire", "agency", "blog"}) for s in seen), seen
    assert logs.having("rule reload failed; keeping the last good rules")   # some reloads met a partial file
    assert not logs.tracebacks
    assert all("\n" not in line for line in logs.lines)
