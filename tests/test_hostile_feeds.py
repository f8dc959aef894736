"""Hostile feed servers on 127.0.0.1, each probe kept as a test: a document far over the items
limit, redirects to internal addresses and DNS rebinding, slow servers that would hold a host's
connection slots."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import sqlite3
import urllib.request

import httpcore
import pytest

from conftest import LOOPBACK, run_cli, write_rules
from inprocess import LogLines
from servers import rss
from watcher.addresses import parse_networks, refusal
from watcher.app import Settings, Watcher
from watcher.connect import AddressRefused, GuardedBackend
from watcher.errors import FetchError
from watcher.fetch import FetchLimits, Fetcher
from watcher.models import MAX_ITEMS
from watcher.web import Check, Hooks, StatusServer


def _one_pass(settings: Settings) -> list:
    watcher = Watcher(settings, console=io.StringIO())

    async def run() -> list:
        await watcher.open()
        try:
            return (await watcher.check_all())[0]
        finally:
            await watcher.close()

    return asyncio.run(run())


def test_a_feed_over_the_items_limit_is_cut_and_says_so(tmp_path, rules_dir, feed_server):
    total = 100_000
    feed_server.set("/huge.xml", rss([{"title": f"Story {n}", "guid": f"g{n}"} for n in range(total)]))
    write_rules(rules_dir, f"feeds:\n  huge: {{url: \"{feed_server.url('/huge.xml')}\"}}\n")
    db = tmp_path / "w.db"
    with LogLines() as log:
        reports = _one_pass(Settings(allow_addresses=LOOPBACK, rules=rules_dir, db=db, parse_workers=0))
    assert reports[0].new == MAX_ITEMS and reports[0].cut == total - MAX_ITEMS
    note = f"read the first {MAX_ITEMS:,} of {total:,} items (the limit per poll)"
    poll = next(line for line in log.lines if "poll feed=huge" in line)
    assert "WARNING" in poll and f"new={MAX_ITEMS}" in poll and f"cut={total - MAX_ITEMS}" in poll and note in poll
    env = {"WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(db)}
    listed = run_cli("feeds", env=env)
    assert listed.returncode == 0 and "read the first 2,000 of 100,000 items" in listed.stdout, listed.stdout
    detail = json.loads(run_cli("feeds", "--json", env=env).stdout)[0]
    assert (detail["items_total"], detail["items_cut"]) == (total, total - MAX_ITEMS)
    hooks = Hooks(db_path=db, alive=lambda: Check("loop", True), ready=lambda: [Check("rules", True)],
                  ruleset=lambda: None, metrics=lambda: (b"", "text/plain"), clock=lambda: reports[0].next_poll_at)
    server = StatusServer(("127.0.0.1", 0), hooks)
    server.start()
    try:
        with urllib.request.urlopen(server.url + "/", timeout=10) as page:
            assert note in page.read().decode()
        with urllib.request.urlopen(server.url + "/api/feeds", timeout=10) as api:
            assert json.loads(api.read())[0]["note"] == note
    finally:
        server.close()


# -- one slow host starves its neighbours ----------------------------------------------------------

def test_two_trickling_feeds_cannot_hold_their_hosts_other_feeds(feed_server):
    """Two slowloris feeds (a byte every 0.1 s) and a prompt one, all on one host with two slots.
    Unknown yet, the slow ones take both slots but give them up at the prompt deadline (1 s, not
    the total 8 s), so the prompt feed waits that long at most; then, in the slow lane, they share
    the one slot it may hold, and the prompt feed is fetched at once while they trickle on."""
    for path in ("/trickle0", "/trickle1"):
        feed_server.set(path, "x" * 400, trickle=0.1)             # 40 s, cut by the deadlines below
    feed_server.set("/prompt", rss([{"title": "Prompt story", "guid": "p"}]))
    limits = FetchLimits(per_host=2, prompt_timeout=1.0, total_timeout=8.0, slow_after=0.5, read_timeout=5.0)

    async def go() -> None:
        fetcher = Fetcher(limits, allowed=LOOPBACK)

        async def attempt(path: str) -> str:
            try:
                await fetcher.fetch(feed_server.url(path))
                return "ok"
            except FetchError as exc:
                return str(exc)

        try:
            trickling = [asyncio.create_task(attempt(p)) for p in ("/trickle0", "/trickle1")]
            await asyncio.sleep(0.3)                              # both are transferring, in the prompt lane
            assert await asyncio.wait_for(attempt("/prompt"), 4.0) == "ok"
            first = await asyncio.gather(*trickling)
            assert all("within 1s; the next fetch takes the slow lane (8s)" in e for e in first), first
            assert fetcher.is_slow(feed_server.url("/trickle0")) and fetcher.is_slow(feed_server.url("/trickle1"))

            trickling = [asyncio.create_task(attempt(p)) for p in ("/trickle0", "/trickle1")]
            await asyncio.sleep(0.3)                              # the slow lane's one slot of the host is taken
            assert await asyncio.wait_for(attempt("/prompt"), 4.0) == "ok"
            assert not any(task.done() for task in trickling)    # the prompt feed did not wait for them
            assert await asyncio.gather(*trickling) == ["no complete response within 8s"] * 2
        finally:
            await fetcher.aclose()

    asyncio.run(asyncio.wait_for(go(), 60))


# -- redirects and DNS answers that lead inside ----------------------------------------------------

METADATA = "http://169.254.169.254/latest/meta-data/"


class Recording(httpcore.AsyncNetworkBackend):
    """The real backend, noting every address a connection is opened to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.opened: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.opened.append(host)
        return await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                            socket_options=socket_options)


class Canary:
    """A listener on 127.0.0.2 (loopback, never allowed to the fetcher): did anyone connect?"""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.2", port))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            self.sock.accept()[0].close()
            return True
        except BlockingIOError:
            return False

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("address,kind", [
    ("169.254.169.254", "link-local"), ("::ffff:169.254.169.254", "link-local"), ("64:ff9b::a9fe:a9fe", "link-local"),
    ("2002:a9fe:a9fe::1", "link-local"), ("fe80::1%eth0", "link-local"), ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.0.1", "private"), ("fc00::1", "private"), ("100.64.0.1", "shared"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("192.0.2.1", "private"), ("255.255.255.255", "reserved"),
])
def test_internal_addresses_are_refused_by_kind(address, kind):
    why = refusal(address)
    assert why is not None and kind in why, (address, why)


def test_public_and_allowed_addresses_go_through():
    assert refusal("93.184.216.34") is None and refusal("2606:4700::6810:84e5") is None
    allowed = parse_networks(["10.0.0.0/8", "fd00::1"])
    assert refusal("10.9.8.7", allowed) is None and refusal("fd00::1", allowed) is None
    assert refusal("::ffff:10.9.8.7", allowed) is None                  # the IPv4 it carries is allowed
    assert refusal("10.9.8.7", parse_networks(["10.9.8.6"])) is not None
    assert refusal("169.254.169.254", allowed) is not None              # allowing a LAN opens nothing else


def test_metadata_addresses_are_refused_before_connecting():
    recording = Recording()
    backend = GuardedBackend(LOOPBACK, inner=recording)

    async def attempt(host: str) -> str:
        try:
            await backend.connect_tcp(host, 80, timeout=1)
        except AddressRefused as exc:
            return str(exc)
        return "connected"

    async def go() -> list[str]:
        return [await attempt(h) for h in ("169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254",
                                           "127.0.0.2")]

    results = asyncio.run(go())
    assert results[0] == (
        "refused to connect to 169.254.169.254 port 80: a link-local address (where cloud metadata services answer); "
        "watcher fetches only public addresses unless allowed (--allow-addresses, or the feed's allow_addresses)")
    assert all(r.startswith("refused to connect") for r in results), results
    assert recording.opened == []                                       # nothing was sent anywhere


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_to_the_metadata_service_is_refused_and_recorded(tmp_path, rules_dir, feed_server, status):
    feed_server.set("/feed.xml", "", status=status, headers={"Location": METADATA})
    write_rules(rules_dir, f"feeds:\n  wire: {{url: \"{feed_server.url('/feed.xml')}\"}}\n")
    reports = _one_pass(Settings(rules=rules_dir, db=tmp_path / "w.db", parse_workers=0, allow_addresses=LOOPBACK))
    assert reports[0].error == ("fetch: refused to connect to 169.254.169.254 port 80: a link-local address (where "
                                "cloud metadata services answer); watcher fetches only public addresses unless "
                                "allowed (--allow-addresses, or the feed's allow_addresses)")
    db = sqlite3.connect(tmp_path / "w.db")
    try:
        kind, status, error = db.execute("SELECT error_kind, status, error FROM feeds").fetchone()
        assert (kind, status) == ("refused", "error") and error == reports[0].error     # the feed's error
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 0              # nothing stored
    finally:
        db.close()


def test_a_redirect_to_another_address_on_the_machine_is_refused(feed_server):
    canary = Canary()
    try:
        feed_server.set("/feed.xml", "", status=302, headers={"Location": f"http://127.0.0.2:{canary.port}/admin"})
        feed_server.set("/v6.xml", "", status=302, headers={"Location": f"http://[::1]:{feed_server.port}/feed.xml"})

        async def go() -> list[str]:
            fetcher = Fetcher(allowed=LOOPBACK)                     # 127.0.0.1 only, as every test
            out = []
            try:
                for path in ("/feed.xml", "/v6.xml"):
                    try:
                        await fetcher.fetch(feed_server.url(path))
                        out.append("fetched")
                    except FetchError as exc:
                        out.append(f"{exc.kind}: {exc}")
            finally:
                await fetcher.aclose()
            return out

        first, second = asyncio.run(go())
        assert first.startswith("refused: refused to connect to 127.0.0.2 port") and "loopback" in first, first
        assert second.startswith("refused: refused to connect to ::1 port") and "loopback" in second, second
        assert not canary.connected()
    finally:
        canary.close()


def test_feed_urls_on_internal_addresses_need_the_operators_or_the_feeds_allowance(tmp_path, rules_dir, feed_server):
    feed_server.set("/feed.xml", rss([{"title": "Local story", "guid": "1"}]))
    url = feed_server.url("/feed.xml")
    write_rules(rules_dir, f"feeds:\n  plain: {{url: \"{url}\"}}\n  opted: {{url: \"{url}\", allow_addresses: "
                           "[127.0.0.1]}\n")
    reports = {r.feed: r for r in _one_pass(Settings(rules=rules_dir, db=tmp_path / "w.db", parse_workers=0))}
    assert "refused to connect to 127.0.0.1" in reports["plain"].error and "loopback" in reports["plain"].error
    assert reports["opted"].error is None and reports["opted"].new == 1
    assert feed_server.count("/feed.xml") == 1                      # only the allowed feed reached the server
    env = {"WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w2.db")}
    checked = run_cli("check", env={**env, "WATCHER_ALLOW_ADDRESSES": ""})
    assert "refused to connect to 127.0.0.1" in checked.stdout + checked.stderr
    assert run_cli("--allow-addresses", "127.0.0.1", "check", env=env).returncode == 0
    bad = run_cli("--allow-addresses", "localhost", "check", env=env)
    assert bad.returncode == 2 and "'localhost' is not an IP address or network" in bad.stderr


def test_dns_rebinding_cannot_move_a_checked_name_to_a_refused_address(feed_server):
    """The name answers 127.0.0.1 (allowed) first, then 127.0.0.2 (refused): the connection goes
    to the address that was checked, the name is never looked up again for it, and a new
    connection that gets the second answer is refused before connecting."""
    canary = Canary(feed_server.port)          # the same port on 127.0.0.2, where a second lookup would lead
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["127.0.0.2"]

    feed_server.set("/feed.xml", rss([{"title": "Story", "guid": "1"}]))
    url = f"http://feeds.rebind.test:{feed_server.port}/feed.xml"

    async def go() -> tuple[str, str, str]:
        first = Fetcher(allowed=LOOPBACK, resolve=rebinding)
        try:
            one = await first.fetch(url)
            two = await first.fetch(url)              # the pooled connection: no lookup, same checked address
        finally:
            await first.aclose()
        fresh = Fetcher(allowed=LOOPBACK, resolve=rebinding)
        try:
            await fresh.fetch(url)
            three = "fetched"
        except FetchError as exc:
            three = str(exc)
        finally:
            await fresh.aclose()
        return type(one).__name__, type(two).__name__, three

    try:
        assert asyncio.run(go()) == ("Fetched", "Fetched", "refused to connect to feeds.rebind.test (127.0.0.2) port "
                                     f"{feed_server.port}: a loopback address (this machine); watcher fetches only "
                                     "public addresses unless allowed (--allow-addresses, or the feed's "
                                     "allow_addresses)")
        assert lookups == ["feeds.rebind.test", "feeds.rebind.test"]
        assert not canary.connected() and feed_server.count("/feed.xml") == 2
    finally:
        canary.close()


def test_the_address_actually_connected_to_is_checked(feed_server):
    """Whatever resolved the name, the socket's peer is checked before a byte is sent."""
    async def go() -> str:
        stream = await httpcore.AnyIOBackend().connect_tcp("127.0.0.1", feed_server.port)
        try:
            await GuardedBackend(()).check_peer(stream, "feeds.example", feed_server.port)
        except AddressRefused as exc:
            return str(exc)
        return "allowed"

    assert asyncio.run(go()).startswith(f"refused to connect to feeds.example (127.0.0.1) port {feed_server.port}")
    assert feed_server.hits == []
