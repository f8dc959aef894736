from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from datetime import datetime, UTC
from email.utils import format_datetime
from pathlib import Path
from collections.abc import Iterator

import pytest
from hypothesis import settings

from servers import FeedServer, WebhookReceiver
from watcher.addresses import split_networks

# Property tests run the same examples on every run of the suite (a red build always means a
# change, never a dice roll); HYPOTHESIS_PROFILE=explore searches widely with fresh random input.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=5000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DOCS = ROOT / "docs"


def doc_text(name: str) -> str:
    """docs/NAME, the manual's file on one subject (the examples tests run are read from there)."""
    return (DOCS / name).read_text()


def doc_section(name: str, heading: str) -> str:
    """The part of docs/NAME under the line ``heading`` (``"## Sections"``), up to the next heading of
    its level or a higher one. A line in a code block is never a heading (``# yaml-language-server``)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = doc_text(name).split("\n")
    start = lines.index(heading) + 1
    fenced = False
    for end in range(start, len(lines)):
        if lines[end].lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and lines[end].startswith("#") and len(lines[end]) - len(lines[end].lstrip("#")) <= level \
                and lines[end].lstrip("#").startswith(" "):
            return "\n".join(lines[start:end])
    return "\n".join(lines[start:])

# The test servers listen on 127.0.0.1, an address watcher refuses to fetch from unless the
# operator allows it (watcher/addresses.py). Tests that fetch from them opt in with these, by
# name: LOOPBACK for Settings(allow_addresses=...) and Fetcher(allowed=...), LOOPBACK_ENV for the
# CLI and the daemon as a subprocess (run_cli and DaemonProcess pass it). Only 127.0.0.1: a
# redirect or a DNS answer that leads to any other address is still refused.
LOOPBACK = split_networks("127.0.0.1")
LOOPBACK_ENV = {"WATCHER_ALLOW_ADDRESSES": "127.0.0.1"}


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    return folder


def write_rules(folder: Path, text: str, name: str = "rules.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def write_story_rules(folder: Path, feeds: dict[str, str], team: str) -> Path:
    """Feeds polled every second and one rule, ``stories``, alerting ``team`` on every item whose
    title says "story" (backlog included): the fixture of the crash and disk-fault tests."""
    listed = "".join(f'  {name}: {{url: "{url}"}}\n' for name, url in feeds.items())
    return write_rules(folder, "settings: {interval: 1s, backlog: {alerts: 1d}}\nfeeds:\n" + listed
                       + "alerts:\n  - name: stories\n    on: {items: {all: [story]}}\n    notify: [team]\n"
                       + f"channels:\n  team: {team}\n")


def crash_rng() -> random.Random:
    """The random source of a test that kills watcher at random moments: seeded at random, the
    seed printed; WATCHER_CRASH_SEED=N replays a run's kill points."""
    seed = int(os.environ.get("WATCHER_CRASH_SEED", "0")) or random.randrange(1, 10**6)
    print(f"seed {seed} (rerun with WATCHER_CRASH_SEED={seed})")
    return random.Random(seed)


def rfc822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `watcher` console command as a subprocess (allowed to fetch from 127.0.0.1)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **LOOPBACK_ENV, **(env or {})}
    return subprocess.run([sys.executable, "-m", "watcher", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=timeout)
