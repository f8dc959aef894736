"""Which engine runs a rule's pattern, and within what time. Pure (no I/O).

Python's ``re`` backtracks, and ``text/redos.py`` cannot refuse every shape that explodes: one
title of 28 a's and a "!" kept ``(a{1,30}){1,30}b`` busy for 18 s, holding the GIL, and the
daemon with it. So a ``CompiledTerm`` runs on one of two engines, chosen when it is compiled:

- **RE2** (google-re2), linear in the text whatever the pattern, for every pattern it can
  express with exactly ``re``'s results. RE2 knows no lookaround, so the whole-word check
  ``words_regex`` wraps terms in, ``(?<!\\w)(?:...)(?!\\w)``, is rewritten: the character
  before the term is consumed (``\\W``; the text is searched after one non-word character that
  stands for its start) and so is the one after (``(?:\\W|\\z)``); the term's own span is read
  from a group. RE2's classes (``\\w``, ``\\s``, case folding) follow another Unicode than
  Python's, so RE2 only ever sees ASCII: every character class is written out as the exact set
  of ASCII characters ``re`` gives it, and a text with other characters is searched as a copy in
  which each of them stands in for its class (``_`` for a letter, a control character for a
  space or a mark, a digit the pattern never names for a digit). The stand-ins are chosen so
  that no part of the pattern can tell them from what they replace: same length, same
  offsets, same matches, on the same spans of the real text.
- **regex** (the ``regex`` package, ``re``'s syntax and results) with a time limit,
  ``BUDGET`` seconds per search, for what RE2 cannot do (other lookarounds, back-references,
  possessive and atomic groups, letters outside ASCII in the pattern, ``$`` before a final
  newline) and for the rare text whose characters cannot stand in (``ſ``, ``K``, ``İ``, ``ı``:
  letters that match ASCII ones without regard to case). It releases the GIL while it
  searches (``concurrent=True``), so the event loop, polls and health checks go on; a search
  that runs out of time raises ``SlowPattern``, and the matcher treats the item as not matched
  by that rule (``match.match_items``, ``facts.observe``), which the caller logs and counts.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from re import _constants as C, _parser as P  # type: ignore[attr-defined]

import re2
import regex

BUDGET = 0.1            # seconds one search on the backtracking engine may take
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


class SlowPattern(Exception):
    """A search on the backtracking engine ran out of its time budget."""

    def __init__(self, term: CompiledTerm):
        super().__init__(f"the pattern {term.source!r} took longer than {BUDGET:g}s on this text")
        self.term = term


@dataclass(frozen=True)
class TermMatch:
    """Where a term matched, read the way ``re.Match`` is read (``start``, ``end``, ``group``...)."""

    span_: tuple[int, int]
    text: str
    groups: dict[str, str | None]

    def start(self) -> int:
        return self.span_[0]

    def end(self) -> int:
        return self.span_[1]

    def span(self) -> tuple[int, int]:
        return self.span_

    def group(self, name: int | str = 0) -> str | None:
        return self.text if name == 0 else self.groups[str(name)]

    def groupdict(self) -> dict[str, str | None]:
        return dict(self.groups)


class TermStats:
    """How often a term ran out of time (it belongs to one loaded rule set)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.timeouts = 0

    def timed_out(self) -> None:
        with self._lock:
            self.timeouts += 1


@dataclass(frozen=True)
class CompiledTerm:
    source: str                # as the rule author wrote it
    pattern: re.Pattern[str]   # the reference: what the term means (the index reads its literals)
    engine: str = field(default="re2", compare=False)       # re2 (linear) or budget (backtracking, timed)
    why_budget: str | None = field(default=None, compare=False)  # why RE2 cannot run it
    _linear: Any = field(default=None, compare=False, repr=False)
    stats: TermStats = field(default_factory=TermStats, compare=False, repr=False)

    def search(self, text: str, pos: int = 0) -> TermMatch | None:
        """The first match at or after ``pos``, as ``pattern.search`` finds it."""
        if self._linear is not None:
            view = self._linear.view(text)
            if view is not None:
                return self._linear.search(text, view, pos)
        return self._budgeted(text, pos)

    def finditer(self, text: str, limit: int) -> list[TermMatch]:
        """The first ``limit`` matches, as ``pattern.finditer`` finds them."""
        if self._linear is not None:
            view = self._linear.view(text)
            if view is not None:
                found: list[TermMatch] = []
                pos = 0
                while len(found) < limit and (m := self._linear.search(text, view, pos)) is not None:
                    found.append(m)
                    pos = m.end()   # never empty: such patterns stay on the other engine
                return found
        return self._budgeted_all(text, limit)

    def _budgeted(self, text: str, pos: int) -> TermMatch | None:
        with self._timed():
            m = _backtracking(self.pattern.pattern, self.pattern.flags).search(text, pos, timeout=BUDGET,
                                                                             concurrent=True)
        return None if m is None else TermMatch(m.span(), m.group(0), m.groupdict())

    def _budgeted_all(self, text: str, limit: int) -> list[TermMatch]:
        compiled = _backtracking(self.pattern.pattern, self.pattern.flags)
        with self._timed():
            return [TermMatch(m.span(), m.group(0), m.groupdict()) for m in
                    itertools.islice(compiled.finditer(text, timeout=BUDGET, concurrent=True), limit)]

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError:
            self.stats.timed_out()
            raise SlowPattern(self) from None


def probe(term: CompiledTerm) -> str | None:
    """For a term on the time-limited engine: a hostile text it runs out of time on (``None``:
    none of the probes). The probes repeat the characters the pattern names, the way the text
    that froze the daemon repeated an "a" 28 times before a "!"."""
    if term.engine != "budget":
        return None
    named = sorted({c for c in re.sub(r"\\.|[^\w ]", "", term.source.casefold()) if c.isalnum()})[:6] or ["a"]
    for char in named:
        for text in (char * 30 + "!", char * 3000 + "!", (char + " ") * 1500 + "!", (char * 5 + ".") * 600 + "!"):
            try:
                term._budgeted_all(text, 50)
            except SlowPattern:
                return f"{text[:12]!r}... ({len(text):,} characters)"
    return None


def compile_pattern(source: str, regex_text: str, flags: int) -> CompiledTerm:
    """``regex_text`` (Python syntax; ``source`` as the author wrote it) on the best engine."""
    reference = re.compile(regex_text, flags)
    linear = _linear(regex_text, flags)
    if isinstance(linear, str):
        return CompiledTerm(source, reference, "budget", linear)
    return CompiledTerm(source, reference, "re2", None, linear)


@functools.lru_cache(maxsize=8192)   # a reload compiles the same patterns again; RE2 programs are immutable
def _linear(regex_text: str, flags: int) -> _Linear | str:
    """The RE2 form of a pattern, or why there is none."""
    try:
        return _Linear(regex_text, flags)
    except _Unsupported as exc:
        return str(exc)


@functools.lru_cache(maxsize=4096)   # a reload compiles the same patterns again
def _backtracking(pattern: str, flags: int) -> Any:
    """``pattern`` for the ``regex`` package, with ``re``'s meaning: ``regex`` reads ``\\w``,
    ``\\d``, ``\\s`` and ``\\b`` by the Unicode standard's rules (marks are word characters,
    \\x1c is no space...), so each is written out as the exact set ``re`` uses."""
    parsed = P.parse(pattern, flags)
    names = {gid: name for name, gid in parsed.state.groupdict.items()}
    global_flags = "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE))
                           if parsed.state.flags & bit)
    text = (f"(?{global_flags})" if global_flags else "") + _Spelled(names).seq(parsed)
    return regex.compile(text, regex.VERSION0)


class _Spelled:
    """A parsed pattern written out again for ``regex``, with ``re``'s character classes."""

    def __init__(self, names: dict[int, str]):
        self.names = names

    def seq(self, items: Any) -> str:
        return "".join(self.item(op, av) for op, av in items)

    def item(self, op: Any, av: Any) -> str:  # noqa: C901  (one case per operator of re's parser)
        if op is C.LITERAL:
            return _char(av)
        if op is C.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is C.ANY:
            return "."
        if op is C.IN:
            return self.klass(av)
        if op is C.SUBPATTERN:
            gid, add, remove, body = av
            flags = _flag_letters(add) + ("-" + _flag_letters(remove) if remove else "")
            inner = f"(?{flags}:{self.seq(body)})" if flags else self.seq(body)
            if gid is None:
                return f"(?:{inner})"
            name = self.names.get(gid)
            return f"(?P<{name}>{inner})" if name else f"({inner})"
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(b) for b in av[1]) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            low, high, body = av
            count = f"{{{low},}}" if high == C.MAXREPEAT else f"{{{low},{high}}}"
            return f"(?:{self.seq(body)}){count}" + {C.MIN_REPEAT: "?", C.POSSESSIVE_REPEAT: "+"}.get(op, "")
        if op is C.ATOMIC_GROUP:
            return f"(?>{self.seq(av)})"
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, body = av
            kind = ("<" if direction < 0 else "") + ("=" if op is C.ASSERT else "!")
            return f"(?{kind}{self.seq(body)})"
        if op is C.GROUPREF:
            return f"(?:\\{av})"
        if op is C.GROUPREF_EXISTS:
            gid, yes, no = av
            return f"(?({gid}){self.seq(yes)}" + (f"|{self.seq(no)}" if no is not None else "") + ")"
        if op is C.AT:
            return _ANCHORS.get(av) or _boundary_spelled(av)
        raise ValueError(f"cannot write {op} for the regex package")

    def klass(self, items: Any) -> str:
        negate = bool(items) and items[0][0] is C.NEGATE
        parts, others = [], []
        for kind, value in items[1 if negate else 0:]:
            if kind is C.LITERAL:
                parts.append(_char(value))
            elif kind is C.RANGE:
                parts.append(f"{_char(value[0])}-{_char(value[1])}")
            elif kind is C.CATEGORY and value in _POSITIVE:
                parts.append(_category(_POSITIVE[value]))
            elif kind is C.CATEGORY:
                others.append(f"[^{_category(_NEGATIVE[value])}]")
            else:
                raise ValueError(f"cannot write {kind} in a class for the regex package")
        if not others:
            return f"[{'^' if negate else ''}{''.join(parts)}]"
        union = "(?:" + "|".join(([f"[{''.join(parts)}]"] if parts else []) + others) + ")"
        return f"(?:(?!{union}).)" if negate else union   # a negated union: any one character outside it


_POSITIVE = {C.CATEGORY_WORD: "word", C.CATEGORY_DIGIT: "digit", C.CATEGORY_SPACE: "space"}
_NEGATIVE = {C.CATEGORY_NOT_WORD: "word", C.CATEGORY_NOT_DIGIT: "digit", C.CATEGORY_NOT_SPACE: "space"}
_ANCHORS = {C.AT_BEGINNING: "^", C.AT_BEGINNING_STRING: r"\A", C.AT_END: "$", C.AT_END_STRING: r"\Z"}


def _boundary_spelled(at: Any) -> str:
    word = f"[{_category('word')}]"
    if at is C.AT_BOUNDARY:
        return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
    if at is C.AT_NON_BOUNDARY:
        return f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}))"
    raise ValueError(f"cannot write {at} for the regex package")


def _char(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _flag_letters(bits: int) -> str:
    return "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE), ("x", re.VERBOSE))
                   if bits & bit)


@functools.cache
def _category(name: str) -> str:
    """The ranges (for inside ``[...]``) of the characters ``re`` counts as word, digit or space."""
    test = {"word": re.compile(r"\w+"), "digit": re.compile(r"\d+"), "space": re.compile(r"\s+")}[name]
    everything = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x110000)))
    spans = []
    for m in test.finditer(everything):
        low, high = ord(everything[m.start()]), ord(everything[m.end() - 1])
        spans.append(_char(low) if low == high else f"{_char(low)}-{_char(high)}")
    return "".join(spans)


# -- RE2 ---------------------------------------------------------------------------------------

class _Unsupported(Exception):
    """Why a pattern cannot run on RE2 with ``re``'s exact results."""


class _Linear:
    """A pattern translated for RE2, over ASCII text (see the module docstring)."""

    def __init__(self, regex_text: str, flags: int):
        parsed = P.parse(regex_text, flags)
        flags = parsed.state.flags
        if flags & (re.ASCII | re.LOCALE):
            raise _Unsupported("it sets the ASCII or LOCALE flag")
        if _INNER in parsed.state.groupdict:
            raise _Unsupported(f"it names a group {_INNER}")
        if parsed.getwidth()[0] == 0:
            raise _Unsupported("it can match empty text")
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
                raise _Unsupported("it anchors a term that also looks behind it")
            # the text's start reads as one character before it that the lookbehind lets through
            # and that is no word character (for \b); the search then resumes one character early
            start = next((c for c in _STANDINS["other"] if c in before), None)
            if start is None:
                raise _Unsupported("its lookbehind refuses the start of the text")
            self.prefix = start.encode()
            pattern = writer.set_class(before) + pattern
        if trail:
            pattern += "(?:" + writer.set_class(_ASCII_SET - writer.single(items[-1][1][1][0], flags)) + r"|\z)"
        try:
            self.program = re2.compile(pattern)
        except re2.error as exc:
            raise _Unsupported(f"RE2 refuses it ({exc})") from None
        self.groups = [(n, self.program.groupindex[n]) for n in parsed.state.groupdict if n in self.program.groupindex]
        self.standins = _choose_standins(writer.named | {self.prefix.decode()})
        # the binding's own call, without the module's generator and match object around it:
        # half of the time of a search on a short text (a google-re2 1.x internal; tests cover it)
        self._match = self.program._regexp.Match

    def view(self, text: str) -> bytes | None:
        """The ASCII text RE2 searches, or ``None`` when some character has no stand-in."""
        return _ascii_view(text, self.standins, self.prefix)

    def search(self, text: str, view: bytes, pos: int) -> TermMatch | None:
        spans = self._match(_UNANCHORED, view, pos, len(view))
        if spans[0][0] < 0:
            return None
        shift = len(self.prefix)   # with a prefix, view[pos] is the character before text[pos]
        a, b = spans[1][0] - shift, spans[1][1] - shift
        groups = {name: (text[spans[i][0] - shift:spans[i][1] - shift] if spans[i][0] >= 0 else None)
                  for name, i in self.groups}
        return TermMatch((a, b), text[a:b], groups)


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
                raise _Unsupported(f"it repeats more than {_RE2_MAX_REPEAT} times")
            count = f"{{{low},}}" if high == C.MAXREPEAT else f"{{{low},{high}}}"
            return f"(?:{self.seq(body, flags)}){count}" + ("?" if op is C.MIN_REPEAT else "")
        if op is C.AT:
            return self.anchor(av, flags)
        reasons = {C.POSSESSIVE_REPEAT: "a possessive repeat", C.ATOMIC_GROUP: "an atomic group",
                   C.GROUPREF: "a back-reference", C.GROUPREF_EXISTS: "a conditional group",
                   C.ASSERT: "a lookaround", C.ASSERT_NOT: "a lookaround"}
        raise _Unsupported(f"it uses {reasons.get(op, str(op).lower())}")

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
        raise _Unsupported("it ends with $, which also matches before a final newline")

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
                    raise _Unsupported("its character ranges go beyond ASCII")
                part = _matching(f"[{_escape(low)}-{_escape(high)}]", ignore)
                self.named |= part
                chosen |= part
            elif kind is C.CATEGORY:
                chosen |= _CATEGORY[value]
            else:
                raise _Unsupported(f"it uses {str(kind).lower()} in a character class")
        return frozenset(_ASCII_SET - chosen if negate else chosen)

    def _literal(self, code: int, ignore: bool) -> frozenset[str]:
        if code > 127:
            raise _Unsupported("it names characters beyond ASCII")
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
def _ascii_view(text: str, standins: tuple[str | None, ...], prefix: bytes) -> bytes | None:
    if text.isascii():
        return prefix + text.encode("ascii")
    try:
        return prefix + text.translate(_table(standins)).encode("ascii")
    except UnicodeEncodeError:
        return None
