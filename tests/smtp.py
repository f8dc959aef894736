"""A real SMTP server on 127.0.0.1 (aiosmtpd, no TLS) that keeps every message it receives."""

from __future__ import annotations

import email
import socket
import threading
from email.message import Message
from typing import Any
from collections.abc import Callable

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailReceiver:
    """``url(to=...)`` is the apprise mailto:// URL for it; ``messages`` are the parsed emails."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.on_receive: Callable[[Message], None] | None = None
        self._lock = threading.Lock()
        owner = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content)
                with owner._lock:
                    owner.messages.append(message)
                    if owner.on_receive is not None:
                        owner.on_receive(message)
                return "250 OK"

        self.port = _free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def url(self, to: str = "desk@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.com&to={to}&name=watcher"

    def parts(self, index: int = 0) -> dict[str, str]:
        """The text parts of one message by content type (text/plain, text/html)."""
        with self._lock:
            message = self.messages[index]
        return {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
                for part in message.walk() if not part.is_multipart()}

    def close(self) -> None:
        self._controller.stop()
