"""The status page in a real headless browser (Debian's chromium) after a scenario: the facts
board shows the values and evidence links, feed text stays text, and a screenshot is saved
under the test's tmp folder. `make test` installs chromium (scripts/test-deps.sh)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, UTC
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import rfc822, run_cli, write_rules
from daemon import DaemonProcess
from servers import rss

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]

RULES = """\
feeds:
  wire: {{url: "{url}", interval: 1h}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, passes], scope: [title]}}
  depleted:
    describe: Existing US funds for Ukraine depleted
    known: "no"
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
  - name: drones
    on: {{items: {{all: [drones]}}}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


class Board(HTMLParser):
    """Collects each fact card's value and evidence links from the DOM the browser built."""

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, dict] = {}
        self.scripts = 0
        self._fact: str | None = None
        self._depth = 0
        self._capture: tuple[str, dict] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "article" and "data-fact" in a:
            self._fact, self._depth = a["data-fact"], 0
            self.facts[self._fact] = {"value": "", "evidence": []}
        if self._fact is None:
            return
        if tag == "article":
            self._depth += 1
        classes = a.get("class", "").split()
        if "value" in classes:
            self._capture = ("value", a)
        elif "ev-link" in classes:
            self._capture = ("evidence", a)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("span", "a"):
            self._capture = None
        if tag == "article" and self._fact is not None:
            self._depth -= 1
            if self._depth == 0:
                self._fact = None

    def handle_data(self, data: str) -> None:
        if self._fact is None or self._capture is None:
            return
        kind, attrs = self._capture
        card = self.facts[self._fact]
        if kind == "value":
            card["value"] += data.strip()
        else:
            card["evidence"].append((attrs.get("href"), data.strip()))
            self._capture = None


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: `make test` installs Debian's chromium "
                                               "when run as root (scripts/test-deps.sh); install it to run this test")
def test_status_page_in_a_real_browser_shows_the_facts_board(tmp_path, rules_dir, feed_server, receiver):
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml")))
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w.db")}
    feed_server.set("/wire.xml", rss([{"title": "Earlier story", "guid": "e"}]))
    assert run_cli("check", env=env).returncode == 0
    now = rfc822(datetime.now(UTC))
    feed_server.set("/wire.xml", rss([
        {"title": "Earlier story", "guid": "e"},
        {"title": "Senate passes Ukraine aid package 70-29", "guid": "p", "link": "https://news.example/passed",
         "pubDate": now},
        {"title": "Drones &lt;script&gt;document.body.dataset.pwned='1'&lt;/script&gt; over Kyiv", "guid": "x",
         "link": "javascript:document.body.dataset.pwned='2'", "pubDate": now}]))
    checked = run_cli("check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert len(receiver.received) == 2

    daemon = DaemonProcess(tmp_path, env)
    try:
        url = daemon.url + "/"
        dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
        assert dom.returncode == 0, dom.stderr.decode()[-2000:]
        shot = tmp_path / "status-page.png"
        picture = chromium(f"--screenshot={shot}", "--window-size=1280,1800", url, profile=tmp_path / "profile-shot")
        assert picture.returncode == 0, picture.stderr.decode()[-2000:]
        assert daemon.stop() == 0
    finally:
        daemon.kill()

    html = dom.stdout.decode()
    board = Board()
    board.feed(html)
    assert board.facts["aid"]["value"] == "passed-senate"
    evidence = [("https://news.example/passed", "Senate passes Ukraine aid package 70-29")]
    assert board.facts["aid"]["evidence"] == evidence
    assert board.facts["depleted"] == {"value": "no", "evidence": []}
    # what the feed sent is shown as text, and nothing it carried ran in the browser
    assert board.scripts == 0 and "data-pwned" not in html
    assert "Drones &lt;script&gt;document.body.dataset.pwned='1'&lt;/script&gt; over Kyiv" in html
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
