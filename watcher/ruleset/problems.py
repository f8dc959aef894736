"""Turning pydantic's validation errors into problems a rule author understands.

pydantic reports ``loc=('alerts', 0, 'on', 'items', 'all', 2, 'regex')`` and
``Value error, ...``; a rule author wants ``rules/aid.yaml:14:13: alert "aid-moves":
on.items.all[2]: the pattern '(' is not a valid regular expression: ...``.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Problem
from .schema import RuleFile
from .yamlsrc import locate

_SECTIONS = {"feeds": "feed", "facts": "fact", "channels": "channel", "terms": "term list"}


def problems_from(exc: ValidationError, data: Any, display: str) -> list[Problem]:
    return problems_from_errors(exc.errors(include_url=False), data, display)


def problems_from_errors(errors: list[Any], data: Any, display: str) -> list[Problem]:
    """Problems for pydantic error dicts whose ``loc`` is a path into ``data``."""
    found: dict[tuple[int, int, str], Problem] = {}
    for err in errors:
        loc = tuple(err["loc"])
        kind = err["type"]
        line, col = locate(data, loc, at_key=kind == "extra_forbidden")
        where, rest = describe_owner(data, loc)
        message = _message(err, loc)
        path = _path(rest)
        text = f"{path}: {message}" if path and kind not in ("extra_forbidden", "missing") else message
        if kind in ("extra_forbidden", "missing") and _path(rest[:-1]):
            text = f"{_path(rest[:-1])}: {message}"
        problem = Problem(display, line, col, text, where)
        found.setdefault((line, col, text), problem)
    return list(found.values())


def describe_owner(data: Any, loc: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """Which named thing an error belongs to (``alert "x"``) and the rest of the path inside it."""
    if len(loc) >= 2 and loc[0] in _SECTIONS:
        return f'{_SECTIONS[loc[0]]} "{loc[1]}"', loc[2:]
    if len(loc) >= 2 and loc[0] == "alerts" and isinstance(loc[1], int):
        name = None
        try:
            name = data["alerts"][loc[1]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
        owner = f'alert "{name}"' if isinstance(name, str) else f"alert #{loc[1] + 1}"
        return owner, loc[2:]
    return "", loc


def suggest(name: str, known: list[str]) -> str:
    """`` (did you mean "x"?)`` for a close name among ``known`` ("" when none is close)."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("Term", "TermsRef", "ChannelSpec", "regex", "words", "str", "float", "Regression",
                      "literal['operator']"):  # union tags and the inner forms of a term
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: dict[str, Any], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = allowed_keys(loc[:-1])
        if len(loc) >= 2 and loc[-2] == "Term":  # an entry of a list of terms may also be {terms: NAME}
            allowed.append("terms")
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        if close:
            hint = f' (did you mean "{close[0]}"?)'
        else:
            hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f'unknown key "{key}"{hint}'
    if kind == "missing":
        return f'missing required key "{loc[-1]}"'
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        return f"{value!r} is not allowed here; use one of {ctx.get('expected')}"
    if kind == "string_type":
        return f"expected text, got {_describe(value)}"
    if kind == "string_pattern_mismatch":
        return (f"{value!r} is not a valid name: use letters, digits, '-', '_' and '.', "
                "starting with a letter or digit")
    if kind == "string_too_long":
        return f"this name is too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_short":
        return "this list cannot be empty"
    if kind == "list_type":
        return f"expected a list (such as [a, b], or one '- item' per line), got {_describe(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a block of 'key: value' lines, got {_describe(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe(value)}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return f"expected a number, got {_describe(value)}"
    return str(err["msg"])


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, dict):
        return "a block of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return repr(value)


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at ``loc`` (empty when that is not a keyed block)."""
    model = _type_at(RuleFile, loc)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [name for name, f in model.model_fields.items() if not f.exclude]
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _type_at(root: Any, loc: tuple[Any, ...]) -> Any:
    tp = root
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part in tp.model_fields:
                tp = tp.model_fields[part].annotation
            # else: a union tag such as 'Term'; stay on this model
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    return _unwrap(tp)
