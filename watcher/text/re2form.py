"""Patterns rewritten for RE2, over ASCII text, with ``re``'s exact results. Pure.

RE2 runs in time linear in the text, but knows no lookaround, and its classes (``\\w``, ``\\s``,
case folding) follow another Unicode than Python's. So ``Linear`` only ever shows RE2 ASCII:

- every character class is written out as the exact set of ASCII characters ``re`` gives it;
- a text with other characters is searched as a copy in which each of them stands in for its
  class (``_`` for a letter, a control character for a space or a mark, a digit the pattern
  never names for a digit): same length, same offsets, and no part of the pattern can tell a
  stand-in from what it replaces (``ascii_view``);
- the whole-word check ``words_regex`` wraps terms in, ``(?<!\\w)(?:...)(?!\\w)``, is rewritten:
  the character before the term is consumed (the text is searched after one non-word
  character that stands for its start, so a search resumes one character early) and so is the
  one after (``(?:\\W|\\z)``); the term's own span is read from a group.

A pattern it cannot run that way raises ``Unsupported`` with the reason, for people.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import re2
from re import _constants as C, _parser as P  # type: ignore[attr-defined]

_INNER = "watcherterm"  # the group holding a term's own span when its neighbours are consumed
_RE2_MAX_REPEAT = 1000
_ASCII = [chr(c) for c in range(128)]
_WORD = frozenset(c for c in _ASCII if c.isalnum() or c == "_")
_DIGIT = frozenset(c for c in _ASCII if c.isdecimal())
_SPACE = frozenset(c for c in _ASCII if c.isspace())
# non-ASCII letters that ``re`` matches with ASCII ones when case is ignored: no stand-in works
_CASE_TWINS = frozenset("\u0130\u0131\u017f\u212a")
_STANDINS = {"word": "_" + "".join(sorted(_WORD - _DIGIT - {"_"})), "digit": "0123456789",
             "space": "\x1f\x1e\x1d\x1c\x0b\x0c", "other": "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x7f"}


class Unsupported(Exception):
    """Why a pattern cannot run on RE2 with ``re``'s exact results."""


class Linear:
    """A pattern translated for RE2, over ASCII text (see the module docstring)."""

    def __init__(self, regex_text: str, flags: int):
        parsed = P.parse(regex_text, flags)
        flags = parsed.state.flags
        if flags & (re.ASCII | re.LOCALE):
            raise Unsupported("it sets the ASCII or LOCALE flag")
        if _INNER in parsed.state.groupdict:
            raise Unsupported(f"it names a group {_INNER}")
        if parsed.getwidth()[0] == 0:
            raise Unsupported("it can match empty text")
        writer = _Writer({gid: name for name, gid in parsed.state.groupdict.items()})
        items = list(parsed)
        lead = _boundary(items[0], -1)
        trail = len(items) > 1 and _boundary(items[-1], 1)
        body = items[1 if lead else 0:len(items) - 1 if trail else len(items)]
        pattern = f"(?P<{_INNER}>{writer.seq(body, flags)})"
        self.prefix = b""
        if lead:
            before = _ASCII_SET - writer.single(items[0][1][1][0], flags)   # what may stand before the term
            if writer.anchored:
                raise Unsupported("it anchors a term that also looks behind it")
            # the text's start reads as one character before it that the lookbehind lets through
            # and that is no word character (for \b); the search then resumes one character early
            start = next((c for c in _STANDINS["other"] if c in before), None)
            if start is None:
                raise Unsupported("its lookbehind refuses the start of the text")
            self.prefix = start.encode()
            pattern = writer.set_class(before) + pattern
        if trail:
            pattern += "(?:" + writer.set_class(_ASCII_SET - writer.single(items[-1][1][1][0], flags)) + r"|\z)"
        try:
            self.program = re2.compile(pattern)
        except re2.error as exc:
            raise Unsupported(f"RE2 refuses it ({exc})") from None
        self.groups = [(n, self.program.groupindex[n]) for n in parsed.state.groupdict if n in self.program.groupindex]
        self.standins = _choose_standins(writer.named | {self.prefix.decode()})
        # the binding's own call, without the module's generator and match object around it:
        # half of the time of a search on a short text (a google-re2 1.x internal; tests cover it)
        self._match = self.program._regexp.Match

    def view(self, text: str) -> bytes | None:
        """The ASCII text RE2 searches, or ``None`` when some character has no stand-in."""
        return ascii_view(text, self.standins, self.prefix)

    def search(self, text: str, view: bytes, pos: int) -> tuple[int, int, dict[str, str | None]] | None:
        """The first match at or after ``pos`` of ``text`` (whose ``view`` this is): its span and groups."""
        spans = self._match(_UNANCHORED, view, pos, len(view))
        if spans[0][0] < 0:
            return None
        shift = len(self.prefix)   # with a prefix, view[pos] is the character before text[pos]
        a, b = spans[1][0] - shift, spans[1][1] - shift
        groups = {name: (text[spans[i][0] - shift:spans[i][1] - shift] if spans[i][0] >= 0 else None)
                  for name, i in self.groups}
        return a, b, groups


_ASCII_SET = frozenset(_ASCII)
_UNANCHORED = re2._Anchor.UNANCHORED


def _boundary(item: tuple[Any, Any], direction: int) -> bool:
    """A negative lookbehind (-1) or lookahead (1) of exactly one character class."""
    op, av = item
    if op is not C.ASSERT_NOT or av[0] != direction:
        return False
    body = list(av[1])
    return len(body) == 1 and body[0][0] in (C.IN, C.LITERAL, C.NOT_LITERAL, C.ANY)


class _Writer:
    """Writes a parsed pattern in RE2's syntax, every character class as its exact ASCII set."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.named: set[str] = set()   # characters the pattern names (literals, ranges): no stand-in may be one
        self.anchored = False          # an anchor at the text's start (\A, ^) was written

    def seq(self, items: Any, flags: int) -> str:
        return "".join(self.item(op, av, flags) for op, av in items)

    def item(self, op: Any, av: Any, flags: int) -> str:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            return self.set_class(self.single((op, av), flags))
        if op is C.SUBPATTERN:
            gid, add, remove, body = av
            inner = self.seq(body, (flags | add) & ~remove)
            name = self.names.get(gid) if gid is not None else None
            return f"(?P<{name}>{inner})" if name else f"(?:{inner})"
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(b, flags) for b in av[1]) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, body = av
            if low > _RE2_MAX_REPEAT or (high != C.MAXREPEAT and high > _RE2_MAX_REPEAT):
                raise Unsupported(f"it repeats more than {_RE2_MAX_REPEAT} times")
            count = f"{{{low},}}" if high == C.MAXREPEAT else f"{{{low},{high}}}"
            return f"(?:{self.seq(body, flags)}){count}" + ("?" if op is C.MIN_REPEAT else "")
        if op is C.AT:
            return self.anchor(av, flags)
        reasons = {C.POSSESSIVE_REPEAT: "a possessive repeat", C.ATOMIC_GROUP: "an atomic group",
                   C.GROUPREF: "a back-reference", C.GROUPREF_EXISTS: "a conditional group",
                   C.ASSERT: "a lookaround", C.ASSERT_NOT: "a lookaround"}
        raise Unsupported(f"it uses {reasons.get(op, str(op).lower())}")

    def anchor(self, at: Any, flags: int) -> str:
        multiline = bool(flags & re.MULTILINE)
        if at in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            self.anchored = True
        if at is C.AT_BEGINNING_STRING or (at is C.AT_BEGINNING and not multiline):
            return r"\A"
        if at is C.AT_BEGINNING:
            return "(?m:^)"
        if at is C.AT_END_STRING:
            return r"\z"
        if at is C.AT_END and multiline:
            return "(?m:$)"
        if at is C.AT_BOUNDARY:
            return r"\b"          # ASCII text, ASCII word characters: re's \b exactly
        if at is C.AT_NON_BOUNDARY:
            return r"\B"
        raise Unsupported("it ends with $, which also matches before a final newline")

    def single(self, item: tuple[Any, Any], flags: int) -> frozenset[str]:
        """The ASCII characters one character matcher accepts, as ``re`` decides (case included)."""
        op, av = item
        ignore = bool(flags & re.IGNORECASE)
        if op is C.ANY:
            return _ASCII_SET if flags & re.DOTALL else _ASCII_SET - {"\n"}
        if op is C.LITERAL:
            return self._literal(av, ignore)
        if op is C.NOT_LITERAL:
            return _ASCII_SET - self._literal(av, ignore)
        negate, chosen = False, set()
        for kind, value in av:
            if kind is C.NEGATE:
                negate = True
            elif kind is C.LITERAL:
                chosen |= self._literal(value, ignore)
            elif kind is C.RANGE:
                low, high = value
                if high > 127:
                    raise Unsupported("its character ranges go beyond ASCII")
                part = _matching(f"[{_escape(low)}-{_escape(high)}]", ignore)
                self.named |= part
                chosen |= part
            elif kind is C.CATEGORY:
                chosen |= _CATEGORY[value]
            else:
                raise Unsupported(f"it uses {str(kind).lower()} in a character class")
        return frozenset(_ASCII_SET - chosen if negate else chosen)

    def _literal(self, code: int, ignore: bool) -> frozenset[str]:
        if code > 127:
            raise Unsupported("it names characters beyond ASCII")
        part = _matching(_escape(code), ignore)
        self.named |= part
        return part

    @staticmethod
    def set_class(chars: frozenset[str]) -> str:
        if not chars:
            return r"[^\x00-\x{10FFFF}]"   # matches nothing
        codes = sorted(ord(c) for c in chars)
        runs: list[list[int]] = []
        for code in codes:
            if runs and runs[-1][1] == code - 1:
                runs[-1][1] = code
            else:
                runs.append([code, code])
        return "[" + "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in runs) + "]"


_CATEGORY = {
    C.CATEGORY_WORD: _WORD, C.CATEGORY_NOT_WORD: _ASCII_SET - _WORD,
    C.CATEGORY_DIGIT: _DIGIT, C.CATEGORY_NOT_DIGIT: _ASCII_SET - _DIGIT,
    C.CATEGORY_SPACE: _SPACE, C.CATEGORY_NOT_SPACE: _ASCII_SET - _SPACE,
}


def _escape(code: int) -> str:
    return f"\\x{code:02x}"


@functools.lru_cache(maxsize=1024)
def _matching(piece: str, ignore: bool) -> frozenset[str]:
    """The ASCII characters ``re`` matches with one literal or range (written in ``re`` syntax)."""
    compiled = re.compile(piece, re.IGNORECASE if ignore else 0)
    return frozenset(c for c in _ASCII if compiled.fullmatch(c))


def _choose_standins(named: set[str]) -> tuple[str | None, ...]:
    """For each class of character (word, digit, space, other), an ASCII one the pattern never
    names; it stands in for every character of that class beyond ASCII."""
    return tuple(next((c for c in _STANDINS[kind] if c not in named), None)
                 for kind in ("word", "digit", "space", "other"))


class _StandIns(dict):  # type: ignore[type-arg]
    """``str.translate`` table: every character beyond ASCII to its stand-in (made on first sight;
    a character without one is left as it is, and the view is then refused)."""

    def __init__(self, standins: tuple[str | None, ...]):
        super().__init__()
        self.word, self.digit, self.space, self.other = standins

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if code < 128:
            chosen: str | None = char
        elif char.isdecimal():
            chosen = self.digit
        elif char.isalnum():
            chosen = self.word
        elif char.isspace():
            chosen = self.space
        else:
            chosen = self.other
        if chosen is None or char in _CASE_TWINS:
            raise LookupError(char)   # translate() keeps it; the ASCII encoding below then fails
        self[code] = chosen
        return chosen


@functools.lru_cache(maxsize=16)
def _table(standins: tuple[str | None, ...]) -> _StandIns:
    return _StandIns(standins)


@functools.lru_cache(maxsize=256)   # one item's fields, searched by every term
def ascii_view(text: str, standins: tuple[str | None, ...], prefix: bytes) -> bytes | None:
    if text.isascii():
        return prefix + text.encode("ascii")
    try:
        return prefix + text.translate(_table(standins)).encode("ascii")
    except UnicodeEncodeError:
        return None
