"""The ``match`` block of the rule language: terms, combinators, scope, guards, ``within``.

Part of the model in ``schema.py`` (which re-exports it); kept apart because it is the part
rule authors spend their time in, and the part with the most checks: every pattern must
compile and must not be able to stall matching (``text/redos.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (BeforeValidator, ConfigDict, BaseModel, Discriminator, Field, PrivateAttr, Tag,
                      ValidationInfo, field_validator, model_validator)

from ..match import WIDER, compile_term
from ..models import ITEM_FIELDS
from ..text import redos, regexsource
from ..text.guards import GUARDS
from ..text.quantity import PLACEHOLDERS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]
Scope = Literal["title", "summary", "content", "link", "author", "categories", "feed"]
assert set(Scope.__args__) == set(ITEM_FIELDS)  # type: ignore[attr-defined]


class Strict(BaseModel):
    """Every block of a rule file: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Term(Strict):
    """One thing to look for in an item's text.

    Written as a plain string (or ``{words: ...}``) it is a *pattern of words*: matched
    case-insensitively, as whole words (``aid`` does not match ``said``), with any run of spaces
    matching any whitespace, and regular-expression syntax allowed (``passe[sd]``,
    ``ukraine|foreign aid``). Written as ``{regex: ...}`` it is a raw regular expression with no
    word boundaries added. ``{amount}``, ``{number}``, ``{percent}``, ``{range}``, ``{change}``
    and ``{name}`` stand for an amount of money, a number, a level in percent, a range of levels,
    a change in points and a capitalised name (see ``extract``).
    """

    # for editors: exactly one of the two forms (the validator below says so to the loader)
    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"oneOf": [{"required": ["words"]}, {"required": ["regex"]}]})

    words: str | None = Field(None, description="A pattern of words: whole words, any case, regex syntax allowed.")
    regex: str | None = Field(None, description="A Python regular expression, matched as written (no word "
                                                 "boundaries added).")
    case_sensitive: bool = Field(False, description="Match upper and lower case exactly.")

    @field_validator("words", "regex")
    @classmethod
    def _compiles(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        refused = term_problem(value, words=info.field_name == "words")
        if refused:
            raise ValueError(refused)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Term:
        if (self.words is None) == (self.regex is None):
            raise ValueError("a term is a word or phrase in quotes, {words: ...} or {regex: ...}")
        return self

    # a term that stands for a named list in `all` or `about` (``termlists.one_of``) is shown
    # by the list's name, not by the alternation it is compiled from
    _shown: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        return self.words if self.words is not None else self.regex  # type: ignore[return-value]

    @property
    def shown(self) -> str:
        """The term as people read it in explain and in messages."""
        return self._shown or self.source


def term_problem(value: str, *, words: bool) -> str | None:
    """Why ``value`` cannot be a term, in words for the rule author; ``None`` if it can.

    Every step from the source to the compiled pattern runs here, when the rules are
    validated, so anything that could go wrong later is a located problem instead (never a
    crash of `watcher validate`, a reload or `watcher explain`). Positions are in the source
    as written: placeholders are probed with text of their own length.
    """
    if not value.strip():
        return "a term cannot be empty"
    probe = value
    for token in PLACEHOLDERS:
        probe = probe.replace(token, "(?:" + "0" * (len(token) - 4) + ")")
    ambiguous = regexsource.ambiguity(probe)
    if ambiguous:
        return f"the pattern '{value}' {ambiguous}"
    misplaced = regexsource.misplaced(value, tuple(PLACEHOLDERS))
    if misplaced:
        return f"the pattern '{value}' cannot be used: {misplaced}"
    try:
        re.compile(probe)  # after ambiguity(): nothing re would only warn about, nothing too deep
    except (re.error, OverflowError, RecursionError) as exc:
        position = getattr(exc, "pos", None)
        where = f" at position {position}" if position is not None else ""
        return (f"the pattern '{value}' is not a valid regular expression: "
                f"{getattr(exc, 'msg', None) or exc}{where}")
    refused = redos.check(probe)
    if refused:
        return f"the pattern '{value}' could stall matching: {refused}"
    try:
        compile_term(value, words=words)
    except Exception as exc:  # whatever the compiler refuses (re, or another engine) is the term's problem
        return f"the pattern '{value}' cannot be compiled: {_compile_error(value, exc)}"
    return None


def _compile_error(value: str, exc: Exception) -> str:
    message = getattr(exc, "msg", None) or str(exc)
    used = [token for token in PLACEHOLDERS if token in value]
    if used and message.startswith("redefinition of group name"):
        # name only the groups of the placeholders this term uses: the rest is noise to its author
        names = "; ".join(f"{token} uses {', '.join(re.compile(PLACEHOLDERS[token]).groupindex)}"
                          for token in used if re.compile(PLACEHOLDERS[token]).groupindex)
        return (f"{message} once {', '.join(used)} is filled in ({names}). A term reads one value: use one "
                "placeholder once, and give your own groups other names")
    return f"{message} (with {', '.join(used)} filled in)" if used else message


def _term(value: Any) -> Any:
    # A bare string is the common case; it becomes a word pattern. Numbers are accepted as text
    # ("2024") because rule authors write them unquoted.
    if isinstance(value, bool) or value is None:
        raise ValueError("a term is a word or phrase in quotes, {words: ...} or {regex: ...}")
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        return {"words": value}
    return value


TermValue = Annotated[Term, BeforeValidator(_term, json_schema_input_type=str | Term)]


class TermsRef(Strict):
    """``{terms: NAME}`` in a list of terms: the named list of the `terms:` section, spliced in
    its place (named lists are shared by every rule file; a list may use another)."""

    terms: Name = Field(description="The name of a list under the top-level `terms:` section.")


def _term_or_list(value: Any) -> str:
    """Which form an entry of a list of terms takes: a reference to a named list, or a term."""
    if isinstance(value, TermsRef) or (isinstance(value, dict) and "terms" in value):
        return "TermsRef"
    return "Term"


# an entry of a list of terms (`all`, `any`, `none`, a named list): a term, or {terms: NAME}
TermItem = Annotated[Annotated[TermValue, Tag("Term")] | Annotated[TermsRef, Tag("TermsRef")],
                     Discriminator(_term_or_list)]
TermList = list[TermItem]
Guard = Literal["question", "negation", "modal", "opinion"]


def _all_guards(value: Any) -> Any:
    if value == "all":
        return list(GUARDS)
    if isinstance(value, str):
        raise ValueError(f"expected a list of guards ({', '.join(GUARDS)}) or `all`, got {value!r}")
    return value


Guards = Annotated[list[Guard] | None, BeforeValidator(_all_guards,
                                                       json_schema_input_type=list[Guard] | Literal["all"])]


class MatchSpec(Strict):
    """Which items match: ``all`` terms, at least one of ``any``, and none of ``none``; ``about``
    names the subject, which with ``within: sentence`` may come from the title."""

    all: TermList = Field(default_factory=list, description="Every one of these terms must appear "
                                                            "({terms: NAME}: one of a named list's words).")
    any: TermList = Field(default_factory=list, description="At least one of these terms must appear "
                                                            "({terms: NAME} splices in a named list).")
    none: TermList = Field(default_factory=list, description="The item does not match if any of these appears "
                                                             "where the match is (see `none_within`; {terms: NAME} "
                                                             "splices in a named list).")
    about: TermList = Field(
        default_factory=list, description="Terms naming the subject. With `within: sentence` or `clause` each may be "
                                          "in the sentence where the other terms meet or in the item's title, which "
                                          "gives every sentence of the summary and content its subject; with "
                                          "`within: field` they are `all` terms ({terms: NAME}: one of a named "
                                          "list's words).")
    scope: list[Scope] = Field(default_factory=lambda: ["title", "summary", "content"],
                               description="Which fields of the item to look in.")
    within: Literal["field", "sentence", "clause"] = Field(
        "field", description="Where the `all` and `any` terms must meet: anywhere in the scope (field), in one "
                             "sentence, or in one clause.")
    none_within: Literal["field", "sentence", "clause"] | None = Field(
        None, description="Where a `none` term refuses the match: in the sentence or clause where the terms meet "
                          "(and the title when it gave the `about` subject), or anywhere in the scope (field). "
                          "Default: as `within`; it cannot be narrower.")
    guards: Guards = Field(
        None, description="Hits in text that asks (question), denies (negation), predicts or wishes (modal) or "
                          "argues (opinion) do not count. `all` for every guard, [] for none. Default: all for "
                          "fact signals, none for alert rules.")

    @model_validator(mode="after")
    def _needs_a_positive_term(self) -> MatchSpec:
        if not self.all and not self.any:
            raise ValueError("a match needs at least one term under `all` or `any`")
        if not self.scope:
            raise ValueError("`scope` cannot be empty")
        return self

    @field_validator("none_within")
    @classmethod
    def _not_narrower(cls, value: str | None, info: ValidationInfo) -> str | None:
        within = info.data.get("within", "field")
        if value is not None and WIDER[value] > WIDER[within]:
            raise ValueError(f"`none_within: {value}` is narrower than `within: {within}`; `none` terms apply at "
                             "least where the other terms meet")
        return value

    def guard_set(self, default: frozenset[str]) -> frozenset[str]:
        return default if self.guards is None else frozenset(self.guards)


