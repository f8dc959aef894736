"""Reading rule files with ruamel.yaml so that every value keeps its line and column.

ruamel's round-trip loader (YAML 1.2) keeps positions on every mapping and sequence, refuses
duplicate keys, and does not turn ``no``/``on``/``1:30`` into booleans or numbers the way
YAML 1.1 loaders do, which matters in files written by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import Problem

MAX_FILE_BYTES = 2_000_000  # a rule file is written by hand; anything bigger is a mistake
MAX_FLOW_DEPTH = 64  # [ ] and { } nested deeper than this: ruamel's scanner slows down with the square of the depth
# what can hold a bracket that is not YAML structure: quoted text on one line, comments
_FLOW_TOKENS = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|(?:^|(?<=\s))#[^\n]*|[\[\]{}]""", re.MULTILINE)
_CONTEXTS = {
    "while parsing a flow sequence": "in the [ list",
    "while parsing a flow mapping": "in the { block",
    "while scanning a quoted scalar": "in the quoted text",
    "while parsing a block mapping": "in the block",
    "while parsing a block collection": "in the list",
    "while scanning a simple key": "in the key",
}


def read_yaml(path: Path, display: str) -> tuple[Any, list[Problem]]:
    """Parse one file. Returns ``(data, problems)``; ``data`` is ``None`` when it did not parse."""
    raw, problems = read_source(path, display)
    if raw is None:
        return None, problems
    return parse_yaml(raw, display)


def read_source(path: Path, display: str) -> tuple[bytes | None, list[Problem]]:
    """A rule file's bytes, read once (what is parsed is what is hashed). A file over the size
    limit is refused without reading it into memory: it may be a log or a database copied into
    the rules folder by mistake."""
    try:
        with path.open("rb") as source:
            raw = source.read(MAX_FILE_BYTES + 1)
            size = max(len(raw), path.stat().st_size)
    except OSError as exc:
        return None, [Problem(display, 1, 1, f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(display, 1, 1, f"the file is {size:,} bytes; rule files are limited to "
                                              f"{MAX_FILE_BYTES:,} bytes")]
    return raw, []


def parse_yaml(raw: bytes, display: str) -> tuple[Any, list[Problem]]:
    """Parse a rule file's bytes. Returns ``(data, problems)``; ``data`` is ``None`` when it did not parse."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(display, line, 1, "the file is not UTF-8 text")]
    too_deep = _flow_too_deep(text, display)
    if too_deep is not None:
        return None, [too_deep]
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text), []
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = _duplicate_key(exc)
        first = exc.context_mark
        message = f"the key {key!r} appears twice in the same block" if key else "a key appears twice in the same block"
        if first is not None:
            message += f" (the block starts on line {first.line + 1})"
        return None, [Problem(display, mark.line + 1, mark.column + 1, message)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        start = exc.context_mark
        if exc.context and start is not None and (start.line + 1, start.column + 1) != (line, col):
            # e.g. an unclosed [ list: the error shows at the end, the cause is where it opened
            opened = _CONTEXTS.get(exc.context.strip(), exc.context)
            what += f" ({opened} that starts at line {start.line + 1}, column {start.column + 1})"
        return None, [Problem(display, line, col, f"this is not valid YAML: {what}")]
    except YAMLError as exc:  # reader errors (control characters) and the like
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(display, line, col, f"this is not valid YAML: {str(exc).splitlines()[0]}")]
    except RecursionError:
        return None, [Problem(display, 1, 1, "this YAML is nested too deeply")]


def _flow_too_deep(text: str, display: str) -> Problem | None:
    """A problem where ``[`` and ``{`` lists open more than ``MAX_FLOW_DEPTH`` deep (brackets in
    quoted text and comments do not count)."""
    depth = 0
    for token in _FLOW_TOKENS.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                line = text.count("\n", 0, token.start()) + 1
                col = token.start() - (text.rfind("\n", 0, token.start()) + 1) + 1
                return Problem(display, line, col, f"this YAML is nested too deeply: more than {MAX_FLOW_DEPTH} "
                                                   "[ ] or { } lists inside one another")
        elif mark in "]}":
            depth = max(0, depth - 1)
    return None


def _duplicate_key(exc: DuplicateKeyError) -> str | None:
    # ruamel words it as: found duplicate key "name" with value ... ; pull the key out.
    text = str(exc.problem or "")
    if '"' in text:
        return text.split('"')[1]
    return None


def position(node: Any) -> tuple[int, int]:
    """1-based (line, column) of a mapping or sequence node; (1, 1) when unknown."""
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return 1, 1
    return lc.line + 1, lc.col + 1


def key_position(mapping: Any, key: Any) -> tuple[int, int]:
    """1-based position of ``key`` inside ``mapping``."""
    if isinstance(mapping, CommentedMap) and key in mapping:
        line, col = mapping.lc.key(key)
        return line + 1, col + 1
    return position(mapping)


def item_position(seq: Any, index: int) -> tuple[int, int]:
    if isinstance(seq, CommentedSeq) and 0 <= index < len(seq):
        line, col = seq.lc.item(index)
        return line + 1, col + 1
    return position(seq)


def locate(data: Any, loc: tuple[Any, ...], *, at_key: bool = False) -> tuple[int, int]:
    """The position of the value a pydantic error ``loc`` points at.

    Parts of ``loc`` that are not in the data (union tags, fields filled in by a validator,
    a missing key) are skipped, so the position is that of the closest enclosing node. With
    ``at_key`` the position of the last key itself is returned (for "unknown key" errors).
    """
    node = data
    line, col = position(data)
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = item_position(node, part)
            node = node[part]
        elif isinstance(node, CommentedMap) and part in node:
            child = node[part]
            scalar = not isinstance(child, (CommentedMap, CommentedSeq))
            # a block is located by its key (its children refine the position further down);
            # a scalar by its value, unless the error is about the key itself
            if (last and at_key) or not scalar:
                line, col = key_position(node, part)
            else:
                vline, vcol = node.lc.value(part)
                line, col = vline + 1, vcol + 1
            node = child
        elif isinstance(node, (CommentedMap, CommentedSeq)):
            continue
        else:
            break
    return line, col
