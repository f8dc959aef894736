"""The connections ``fetch`` opens: only to addresses ``addresses.refusal`` lets through.

An httpcore network backend under httpx's transport, so it sees every connection, the feed
URL's and every redirect's alike, at the moment it is made:

1. the host is resolved once (``resolve``; the event loop's ``getaddrinfo`` by default);
2. if any of its addresses is refused, nothing is connected: ``AddressRefused``;
3. the connection is made to an address that was checked (never to the name again, so a DNS
   answer that changes between the check and the connect, "DNS rebinding", changes nothing);
4. the socket's peer address is checked once more before a byte is sent.

Names reached through a proxy are resolved by the proxy, so ``fetch`` does not use this for
proxied feeds (it checks their URLs' literal addresses instead).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

from .addresses import Network, refusal
from .errors import FetchError

Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(FetchError):
    def __init__(self, host: str, address: str, port: int, why: str):
        shown = address if host == address else f"{host} ({address})"
        super().__init__("refused", f"refused to connect to {shown} port {port}: {why}; watcher fetches only "
                                    "public addresses unless allowed (--allow-addresses, or the feed's "
                                    "allow_addresses)")


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, in the resolver's order, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connect only to allowed addresses (see the module docstring)."""

    def __init__(self, allowed: tuple[Network, ...] = (), resolve: Resolver = system_resolve,
                 inner: httpcore.AsyncNetworkBackend | None = None):
        self.allowed = allowed
        self._resolve = resolve
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:   # one refused address refuses the name: no picking the safe one
            why = refusal(address, self.allowed)
            if why is not None:
                raise AddressRefused(host, address, port, why)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            await self.check_peer(stream, host, port)
            return stream
        assert failure is not None
        raise failure

    async def check_peer(self, stream: httpcore.AsyncNetworkStream, host: str, port: int) -> None:
        """Close ``stream`` and refuse when the address it is connected to is not allowed."""
        peer = stream.get_extra_info("server_addr")
        address = str(peer[0]) if peer else "an unknown address"
        why = refusal(address, self.allowed) if peer else "the peer's address cannot be read"
        if why is not None:
            await stream.aclose()
            raise AddressRefused(host, address, port, why)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("watcher does not fetch over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
