"""Patterns written out again for the ``regex`` package, with ``re``'s meaning. Pure.

``regex`` reads ``\\w``, ``\\d``, ``\\s`` and ``\\b`` by the Unicode standard's rules (marks are
word characters, ``\\x1c`` is no space, its Unicode is newer than this Python's), so ``spell``
writes each one out as the exact set of characters ``re`` gives it; everything else is written
as it was parsed.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from re import _constants as C, _parser as P  # type: ignore[attr-defined]


def spell(pattern: str, flags: int) -> str:
    """``pattern`` (``re`` syntax and flags) for ``regex.compile(..., regex.VERSION0)``."""
    parsed = P.parse(pattern, flags)
    names = {gid: name for name, gid in parsed.state.groupdict.items()}
    global_flags = "".join(f for f, bit in (("i", re.IGNORECASE), ("s", re.DOTALL), ("m", re.MULTILINE))
                           if parsed.state.flags & bit)
    return (f"(?{global_flags})" if global_flags else "") + _Spelled(names).seq(parsed)


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
