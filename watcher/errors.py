"""The exceptions watcher raises, in one tree.

    WatcherError                 anything watcher itself reports
     ├── RuleError               the rule files do not load; ``problems`` lists every one
     ├── FetchError              a feed could not be fetched (``kind`` says how)
     ├── ParseError              a fetched body is not a feed
     ├── StoreError              the state database cannot be used
     │    └── LockedError        another daemon holds the state database
     └── DeliveryError           a channel could not be built or reached

Messages are written for the person running watcher: they say what went wrong and, where it
helps, what to do about it. They never contain secrets (apprise URLs are shown masked).
"""

from __future__ import annotations

from dataclasses import dataclass


class WatcherError(Exception):
    """Base class of every error watcher raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a rule file, with its location (1-based line and column).

    A ``warning`` does not stop the rules from loading: the rule does something its author
    probably did not mean (`watcher validate` prints it, and fails on it with ``--strict``)."""

    file: str
    line: int
    col: int
    message: str
    where: str = ""  # the rule, fact, feed or channel the problem belongs to
    warning: bool = False

    def __str__(self) -> str:
        prefix = f"{self.file}:{self.line}:{self.col}: " + ("warning: " if self.warning else "")
        return prefix + (f"{self.where}: {self.message}" if self.where else self.message)


def in_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message))


class RuleError(WatcherError):
    """The rule files have problems; nothing of them was applied. ``warnings`` were found too."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = in_order(problems)
        self.warnings = in_order(warnings or [])
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the rule files"
        if self.warnings:
            head += f" (and {len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''})"
        super().__init__(head + "\n" + "\n".join(str(p) for p in self.problems + self.warnings))


class FetchError(WatcherError):
    """A feed could not be fetched.

    ``kind`` is one of a closed vocabulary (``timeout``, ``connect``, ``http``, ``too_large``,
    ``redirects``, ``protocol``) so that outcomes can be counted and shown.
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None):
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.elapsed: float | None = None   # seconds the attempt took, once it reached the network
        super().__init__(message)


class ParseError(WatcherError):
    """A fetched document is not a feed watcher can read."""


class StoreError(WatcherError):
    """The state database cannot be opened or written."""


class LockedError(StoreError):
    """Another watcher daemon is using the same state database."""


class DeliveryError(WatcherError):
    """A notification channel could not be built or used."""
