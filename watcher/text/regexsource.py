"""A term's source, read the way Python's ``re`` parser reads it. Pure.

Two things need to know, for each character of a term as the rule author wrote it, whether it
is escaped, inside a ``[...]`` class, inside a comment or a look-behind, and how deep in groups:

- ``words_regex`` rewrites a pattern of words (whole words, a space matches any run of white
  space, ``$`` is a dollar sign) without breaking what it does not rewrite: a space inside a
  look-behind stays one character wide (a look-behind must have a fixed width), leading global
  flags such as ``(?i)`` stay first, a ``(?x)`` comment does not swallow the closing wrapper;
- ``ambiguity`` finds what ``re`` accepts with no more than a warning (a ``[`` just inside a
  class, ``--`` or ``&&`` inside one, a group number written ``(?(+1)...)``: Python says it
  will read these differently one day) and nesting deep enough to exhaust Python's recursion,
  so the loader can report them as problems rather than print a warning or crash.

This mirrors ``re._parser`` of Python 3.11; the property tests in ``tests/test_ruleset_fuzz.py``
run with warnings as errors, so a construct ``re`` warns about and this module misses fails them.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

MAX_NESTING = 100   # groups inside groups; Python's compiler runs out of recursion near 450

_PLAIN = re.compile(r"[^\\\[()\s$*+?{#]+")
_QUANTIFIER = re.compile(r"[*+?]|\{(?:[0-9]+|[0-9]*,[0-9]*)\}")
_FLAGS = re.compile(r"\(\?([aiLmsux]*)(?:-([imsx]*))?([:)])")
_ESCAPE_DIGITS = {"x": (2, string.hexdigits), "u": (4, string.hexdigits), "U": (8, string.hexdigits),
                  **{d: (2, string.octdigits) for d in string.octdigits}}
_SET_OPERATIONS = {"-": "difference", "&": "intersection", "~": "symmetric difference", "|": "union"}


@dataclass(frozen=True)
class Piece:
    """One token of the source: ``space``, ``dollar``, ``quantifier``, ``escape``, ``class``,
    ``comment``, ``flags`` (leading global flags), ``open``, ``close`` or ``char``."""

    kind: str
    text: str
    start: int
    behind: bool = False    # inside a look-behind, at any depth

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Source:
    pieces: tuple[Piece, ...]
    verbose: bool                            # (?x) for the whole pattern
    depth: tuple[int, int]                   # deepest nesting of groups, and where it is reached
    ambiguities: tuple[tuple[int, str], ...]  # (position, what re would only warn about)

    def piece_at(self, position: int) -> Piece | None:
        return next((p for p in self.pieces if p.start <= position < p.end), None)


@lru_cache(maxsize=4096)  # a term is read to check it, then again to rewrite it
def read(pattern: str) -> Source:
    """``pattern`` cut into pieces, as ``re`` tokenises it. Never raises: an invalid pattern is
    read as far as it goes (compiling it reports what is wrong)."""
    return _Reader(pattern).run()


def words_regex(pattern: str) -> str:
    """A pattern of words -> a regex matching it as whole words, any white space between words.

    ``"foreign aid"`` -> ``(?<!\\w)(?:foreign\\s+aid)(?!\\w)``. Spaces inside ``[...]`` classes,
    comments and escaped spaces are left alone; a space inside a look-behind matches exactly
    one white-space character (a look-behind must keep its fixed width); a space before a
    quantifier is the one the quantifier repeats (``a ?b``: an optional space). ``$`` is a
    dollar sign, not an anchor. Lookarounds rather than ``\\b`` so terms that start or end with
    punctuation (``$61bn``, ``co-production``) still get sensible boundaries.
    """
    source = read(pattern)
    pieces = list(source.pieces)
    first = 0
    while first < len(pieces) and pieces[first].kind == "space" and not _repeated(pieces, first):
        first += 1
    flags = ""
    while first < len(pieces) and _ahead_of_everything(pieces[first]):   # (?i) must stay first
        # a (?x) # comment runs to the end of its line: end it there, before the wrapper
        flags += pieces[first].text + ("\n" if pieces[first].text.startswith("#") else "")
        first += 1
    last = len(pieces)
    while last > first and pieces[last - 1].kind == "space":
        last -= 1
    out: list[str] = []
    i = first
    while i < last:
        piece = pieces[i]
        if piece.kind == "space" and piece.behind:
            out.append(r"\s")
            i += 1
        elif piece.kind == "space":
            run = i
            while run < last and pieces[run].kind == "space" and not pieces[run].behind:
                run += 1
            if _repeated(pieces, run - 1):  # the quantifier repeats the (last) space
                out.append(r"\s" if run - i == 1 else r"\s+\s")
            else:
                out.append(r"\s+")
            i = run
        else:
            out.append(r"\$" if piece.kind == "dollar" else piece.text)
            i += 1
    # under (?x) a trailing comment runs to the end of its line: end the line before the wrapper
    tail = "\n" if source.verbose else ""
    return flags + r"(?<!\w)(?:" + "".join(out) + tail + r")(?!\w)"


def _repeated(pieces: list[Piece], i: int) -> bool:
    """Whether a quantifier applies to ``pieces[i]`` (comments in between are skipped, as ``re`` does)."""
    i += 1
    while i < len(pieces) and (pieces[i].kind == "comment" or _blank(pieces[i])):
        i += 1
    return i < len(pieces) and pieces[i].kind == "quantifier"


def _blank(piece: Piece) -> bool:
    return piece.kind == "char" and piece.text.isspace()  # white space under (?x), which re skips


def _ahead_of_everything(piece: Piece) -> bool:
    """Global flags, and the comments ``re`` skips among them, which must open the pattern."""
    return piece.kind in ("flags", "comment") or _blank(piece)


def ambiguity(pattern: str) -> str | None:
    """What about ``pattern`` ``re`` would only warn about, or nesting too deep to compile, as a
    sentence for the rule author; ``None`` if nothing."""
    source = read(pattern)
    depth, where = source.depth
    if depth > MAX_NESTING:
        return (f"nests groups {depth} deep (at position {where}); at most {MAX_NESTING} are allowed, "
                "and no pattern needs that many")
    if source.ambiguities:
        position, what = source.ambiguities[0]
        return f"is ambiguous at position {position}: {what}"
    return None


class _Reader:
    def __init__(self, pattern: str):
        self.s = pattern
        self.pieces: list[Piece] = []
        self.stack: list[tuple[bool, bool]] = []   # per open group: (inside a look-behind, verbose)
        self.verbose = False                       # (?x) for the whole pattern
        self.depth = (0, 0)
        self.ambiguities: list[tuple[int, str]] = []

    def run(self) -> Source:
        s, i = self.s, 0
        while i < len(s):
            i = self._step(i)
        return Source(tuple(self.pieces), self.verbose, self.depth, tuple(self.ambiguities))

    @property
    def _behind(self) -> bool:
        return self.stack[-1][0] if self.stack else False

    @property
    def _verbose(self) -> bool:
        return self.stack[-1][1] if self.stack else self.verbose

    def _add(self, kind: str, start: int, end: int) -> int:
        self.pieces.append(Piece(kind, self.s[start:end], start, self._behind))
        return end

    def _step(self, i: int) -> int:
        s, c = self.s, self.s[i]
        if self._verbose and c in " \t\n\r\v\f":
            return self._add("char", i, i + 1)
        if self._verbose and c == "#":
            return self._add("comment", i, _until(s, i, "\n"))
        if c == "\\":
            return self._add("escape", i, _escape_end(s, i))
        if c == "[":
            return self._add("class", i, self._class(i))
        if c == "(":
            return self._group(i)
        if c == ")":
            end = self._add("close", i, i + 1)
            if self.stack:
                self.stack.pop()
            return end
        if c.isspace():
            return self._add("space", i, i + 1)
        if c == "$":
            return self._add("dollar", i, i + 1)
        quantifier = _QUANTIFIER.match(s, i)
        if quantifier:
            return self._add("quantifier", i, quantifier.end())
        plain = _PLAIN.match(s, i)  # a run of characters that mean themselves, read at once
        return self._add("char", i, plain.end() if plain else i + 1)

    def _open(self, start: int, end: int, *, behind: bool = False, verbose: bool | None = None) -> int:
        self._add("open", start, end)
        self.stack.append((behind or self._behind, self._verbose if verbose is None else verbose))
        if len(self.stack) > self.depth[0]:
            self.depth = (len(self.stack), start)
        return end

    def _group(self, i: int) -> int:
        s = self.s
        if not s.startswith("(?", i):
            return self._open(i, i + 1)
        j = i + 2
        if s.startswith("#", j):                      # (?#...) ends at the first unescaped )
            end = _until(s, j + 1, ")")
            return self._add("comment", i, min(end + 1, len(s)))
        if s.startswith(("<=", "<!"), j):
            return self._open(i, j + 2, behind=True)
        if s.startswith("P=", j):                      # a back-reference by name: no group opens
            end = _until(s, j, ")")
            return self._add("char", i, min(end + 1, len(s)))
        if s.startswith("P<", j):
            end = s.find(">", j)
            return self._open(i, len(s) if end < 0 else end + 1)
        if s.startswith("(", j):                       # (?(1)yes|no)
            end = _until(s, j + 1, ")")
            self._condition(s[j + 1:end], j + 1)
            return self._open(i, min(end + 1, len(s)))
        flags = _FLAGS.match(s, i)
        if flags and flags.group(3) == ")" and flags.group(2) is None:
            end = self._add("flags", i, flags.end())
            self.verbose = self.verbose or "x" in flags.group(1)
            return end
        if flags and flags.group(3) == ":":
            on, off = flags.group(1), flags.group(2) or ""
            return self._open(i, flags.end(), verbose=("x" in on) or (self._verbose and "x" not in off))
        return self._open(i, j if j <= len(s) else len(s))

    def _condition(self, name: str, at: int) -> None:
        """``re`` warns about a group number that ``int()`` reads but is not plain ASCII digits."""
        if name.isidentifier():
            return
        try:
            number = int(name)
        except ValueError:
            return
        if number > 0 and not (name.isdecimal() and name.isascii()):
            self.ambiguities.append((at, f"the group number {name!r} in (?(...)...) will not be accepted by "
                                         "future Pythons; write it with the digits 0-9 only"))

    def _class(self, i: int) -> int:
        """The end of the class opening at ``i``, noting the warnings ``re`` gives inside it."""
        s = self.s
        j = i + 1
        if s.startswith("[", j):
            self.ambiguities.append((j, "a [ just inside a [...] class is read as a plain [ today and may "
                                        "open a nested class in future Pythons; write \\[ for a bracket "
                                        "(classes such as [:alpha:] do not exist in Python)"))
        if s.startswith("^", j):
            j += 1
        items = 0
        while True:
            this, j = _token(s, j)
            if this is None:
                return len(s)
            if this == "]" and items:
                return j
            if items and this in _SET_OPERATIONS and s.startswith(this, j):
                self._set_operation(this, j - 1)
            if s.startswith("-", j):                   # a range, or a - before the closing ]
                that, k = _token(s, j + 1)
                if that is None:
                    return len(s)
                if that == "]":
                    return k
                if that == "-":
                    self._set_operation("-", k - 2)
                j = k
            items += 1

    def _set_operation(self, char: str, at: int) -> None:
        self.ambiguities.append((at, f"{char}{char} inside a [...] class may become a set "
                                     f"{_SET_OPERATIONS[char]} in future Pythons; write \\{char} for a {char} "
                                     "meant literally"))


def _escape_end(s: str, i: int) -> int:
    """The end of the escape starting at ``s[i] == '\\'``, with its digits or ``{name}``."""
    if i + 1 >= len(s):
        return len(s)
    kind, j = s[i + 1], i + 2
    if kind == "N" and s.startswith("{", j):
        end = s.find("}", j)
        return len(s) if end < 0 else end + 1
    count, digits = _ESCAPE_DIGITS.get(kind, (0, ""))
    while count and j < len(s) and s[j] in digits:
        j += 1
        count -= 1
    return j


def _token(s: str, i: int) -> tuple[str | None, int]:
    """The token at ``i`` as ``re`` reads it inside a class (an escape is one token)."""
    if i >= len(s):
        return None, i
    if s[i] == "\\":
        end = _escape_end(s, i)
        return s[i:end], end
    return s[i], i + 1


def _until(s: str, i: int, terminator: str) -> int:
    """The position of the first ``terminator`` token from ``i`` (``len(s)`` if none)."""
    while i < len(s):
        token, end = _token(s, i)
        if token == terminator:
            return i
        i = end
    return len(s)


def misplaced(pattern: str, tokens: tuple[str, ...]) -> str | None:
    """Where a placeholder such as ``{amount}`` is written where its pattern cannot go: inside a
    ``[...]`` class, a comment or a look-behind, or right after a backslash."""
    source = read(pattern)
    for token in tokens:
        at = pattern.find(token)
        while at >= 0:
            piece = source.piece_at(at)
            where = None
            if piece is not None and piece.kind in _NOT_HERE:
                where = _NOT_HERE[piece.kind]
            elif piece is not None and piece.behind:
                where = ("is inside a look-behind (?<=...) or (?<!...), which must match a fixed number of "
                         f"characters, and {token} matches text of varying length")
            if where:
                return f"{token} (at position {at}) {where}"
            at = pattern.find(token, at + 1)
    return None


_NOT_HERE = {
    "class": "is inside a [...] class; a placeholder stands for a whole pattern, not for characters",
    "escape": "comes right after a backslash; a placeholder cannot be escaped",
    "comment": "is inside a comment",
}
