"""The rule-file language, as a pydantic model: one ``RuleFile`` per YAML file in ``rules/``.

This model is the single source of truth for what a rule file may contain: the loader
validates against it (unknown keys are errors), ``watcher schema`` exports it as JSON Schema
for editors, and docs/rules.md's reference follows it. Cross-references between files (an alert
naming a channel or a fact) are checked after all files are merged, in ``build.py``; the
``match`` block lives in ``terms.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..addresses import parse_networks
from ..polling import MIN_INTERVAL
from ..templates import check_template
from ..timefmt import format_duration, parse_duration
from .terms import NAME_PATTERN, MatchSpec, Name, Scope, Strict, Term, TermList, TermsRef, TermValue

__all__ = ["NAME_PATTERN", "AlertOn", "AlertSpec", "ChannelSpec", "Corroboration", "FactSpec", "FeedSpec", "MatchSpec",
           "Name", "Regression", "RuleFile", "Scope", "SettingsSpec", "Signal", "Strict", "Term", "TermList",
           "TermsRef", "TermValue"]

Severity = Literal["info", "warning", "critical"]


def _duration(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_duration),
                     Field(json_schema_extra={"type": ["string", "number"], "examples": ["30s", "15m", "2h", "1d"]})]


def _interval(value: float) -> float:
    if value < MIN_INTERVAL:
        raise ValueError(f"an interval is at least {format_duration(MIN_INTERVAL)}, got {format_duration(value)}")
    return value


# A time between two polls: `interval`, `min_interval`, `max_interval` (see polling.MIN_INTERVAL).
Interval = Annotated[float, BeforeValidator(_duration), AfterValidator(_interval),
                     Field(json_schema_extra={"type": ["string", "number"], "minimum": MIN_INTERVAL,
                                              "examples": ["30s", "15m", "2h", "1d"]})]


def _text_value(value: Any) -> Any:
    # numbers and amounts are written unquoted (known: 61e9); they are values like any other
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    return value


Value = Annotated[str, BeforeValidator(_text_value, json_schema_input_type=str | float)]


class Unit(Strict):
    """A number fact's own unit and how news text writes it, for ``{quantity}``."""

    name: str = Field(min_length=1, description="How values are shown: 3.66 million b/d.")
    words: list[str] = Field(min_length=1, description="How the text writes the unit after a number (the name "
                             "counts too), without a scale: bpd, barrels per day, barrels a day. The scale is "
                             "read from the text: million, mn, m, thousand, k, also stuck to the unit (3.66mb/d).")


class Corroboration(Strict):
    """How much evidence moves a fact: independent sources within a time window."""

    sources: int = Field(1, ge=1, le=20, description="Independent sources needed: different feeds, and not the "
                                                     "same syndicated text.")
    within: Duration = Field(86400, description="They must all be seen within this window; a lone report waits "
                                                "this long for corroboration, then expires.")
    trusted: list[Name] = Field(default_factory=list, description="Feeds (or feed tags) whose report is enough "
                                                                  "on its own.")
    ignore: list[Name] = Field(default_factory=list, description="Feeds (or feed tags) whose items are never "
                               "evidence. Under settings.corroborate: for every fact whose own corroborate does "
                               "not list `ignore`.")
    confirm_only: list[Name] = Field(default_factory=list, description="Feeds (or feed tags) whose reports only "
                                     "add a source to a value a feed that counts reported: they never start a "
                                     "pending report or move a fact on their own. Under settings.corroborate: for "
                                     "every fact whose own corroborate does not list `confirm_only`.")


class Regression(Strict):
    """What a report of an earlier stage needs (from a signal with `backwards: true`)."""

    operator: bool = Field(False, description="Never move back on evidence: flag the fact for an operator's review.")
    sources: int = Field(2, ge=1, le=20, description="Independent sources needed to move the fact back.")
    within: Duration = Field(86400, description="Window in which they must be seen.")


def _regression(value: Any) -> Any:
    if value == "operator":
        return {"operator": True}
    if isinstance(value, str):
        raise ValueError(f"expected `operator` or a block with `sources` and `within`, got {value!r}")
    return value


RegressionValue = Annotated[Regression, BeforeValidator(_regression,
                                                        json_schema_input_type=Literal["operator"] | Regression)]


class Backlog(Strict):
    """What to do with the items already in a feed when watcher first polls it."""

    alerts: Duration = Field(0, description="Alert on backlog items published at most this long ago (0: never).")
    facts: Duration = Field(172800, description="Let backlog items published at most this long ago move facts.")


class DeliverySettings(Strict):
    """How long deliveries are retried (channels may override it)."""

    give_up: Duration = Field(172800, description="A delivery still failing this long after its alert "
                                                  "was written is dead (default 2d).")


class SettingsSpec(Strict):
    interval: Interval = Field(900, description="Default time between two polls of a feed (at least 1s).")
    backlog: Backlog = Field(default_factory=Backlog)
    user_agent: str | None = Field(None, description="Replaces watcher's User-Agent for every feed (e.g. to add "
                                   "a contact address); a feed's own user_agent wins.")
    adaptive: bool = Field(False, description="Default for feeds' `adaptive`.")
    min_interval: Interval | None = Field(None, description="Default for feeds' `min_interval`.")
    max_interval: Interval | None = Field(None, description="Default for feeds' `max_interval`.")
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    corroborate: Corroboration = Field(default_factory=Corroboration,
                                       description="Default evidence needed to move a fact.")


class FeedSpec(Strict):
    url: str = Field(description="The feed's address (http or https).")
    interval: Interval | None = Field(None, description="Time between polls (at least 1s); default: "
                                      "settings.interval.")
    tags: list[Name] = Field(default_factory=list, description="Labels an alert rule can select feeds by.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP request headers; ${VAR} in a "
                                    "value is taken from the environment.")
    user_agent: str | None = Field(None, description="Replaces watcher's User-Agent for this feed.")
    backlog: Backlog | None = None
    adaptive: bool | None = Field(None, description="Follow how often the feed publishes, within "
                                  "min_interval..max_interval; default: settings.adaptive.")
    min_interval: Interval | None = Field(None, description="Shortest adaptive interval (at least 1s); default: "
                                          "interval / 4.")
    max_interval: Interval | None = Field(None, description="Longest interval, adaptive or stretched by the "
                                          "server's ttl/max-age/Expires; default: interval x 4 (adaptive), 6h.")
    proxy: str | None = Field(None, description="An http:// or https:// proxy for this feed; ${VAR} is "
                              "taken from the environment.")
    allow_addresses: list[str] = Field(
        default_factory=list, description="Networks this feed may be fetched from (and redirected to) although "
                                          "they are not public: loopback, private, link-local... e.g. "
                                          "[10.1.2.3, 192.168.0.0/16]. Public addresses need nothing.")

    @field_validator("allow_addresses")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)   # a ValueError names the value that is not an address or network
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?://\S+|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\})$", value):
            raise ValueError("a proxy is an http:// or https:// address, or ${VAR}")
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> FeedSpec:
        if self.min_interval is not None and self.max_interval is not None and self.min_interval > self.max_interval:
            raise ValueError("min_interval is longer than max_interval")
        return self

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
            raise ValueError(f"{value!r} is not an http:// or https:// address")
        return value


class Signal(Strict):
    """Items matching ``match`` are evidence that the fact now has ``value`` (or the value
    ``extract`` reads from the text)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"oneOf": [{"required": ["value"]}, {"required": ["extract"]}]})

    value: Value | None = Field(None, description="The value this signal supports.")
    extract: TermValue | None = Field(
        None, description="Read the value from the text: a pattern with one placeholder ({amount}, {number}, "
                          "{percent}, {range}, {change} or {name}) or a regex group named `value`. It must be "
                          "found, like an `all` term.")
    take: Literal["lower", "upper", "both"] | None = Field(
        None, description="With an `extract` that reads {range}: the fact's value is the lower end, the upper end, "
                          "or both ends (the default: the fact holds a range, and one number alone is not "
                          "evidence).")
    match: MatchSpec | None = Field(None, description="Which items are evidence (optional with `extract`).")
    feeds: list[Name] | None = Field(None, description="Only items from these feeds (or feeds with these tags) "
                                                       "are evidence; default: every feed.")
    backwards: bool = Field(False, description="Ordered facts: this signal may move the fact back to an earlier "
                                               "stage (a veto, a court block); without it a report of an earlier "
                                               "stage is old news.")

    @model_validator(mode="after")
    def _value_or_extract(self) -> Signal:
        if (self.value is None) == (self.extract is None):
            raise ValueError("a signal needs exactly one of `value` or `extract`")
        if self.match is None and self.extract is None:
            raise ValueError("a signal needs `match` (or `extract`)")
        return self


class FactSpec(Strict):
    describe: str = Field(description="What the fact is, in words; shown in alerts.")
    kind: Literal["status", "number", "text"] | None = Field(
        None, description="status: one of `values`; number: an amount in `unit`; text: free text. Default: status "
                          "when `values` is given, else text.")
    known: Value = Field(description="The value known when the rule was written.")
    values: list[str] | None = Field(None, description="The allowed values; with `ordered: true`, in order.")
    ordered: bool = Field(False, description="Values are stages: a report of an earlier stage is old news.")
    unit: str | Unit | None = Field(None, description="Number facts: the unit, e.g. USD, percent (or %), bp "
                                                      "(basis points) or pp (percentage points); a value read in "
                                                      "another unit is not evidence. For a unit of your own that "
                                                      "{quantity} reads: {name: b/d, words: [bpd, barrels per day]}.")
    precision: int | None = Field(None, ge=1, le=15, description="Number facts: compare amounts to this many "
                                                                 "significant digits (2: $60.8bn and $61bn are the "
                                                                 "same claim); default: exactly.")
    corroborate: Corroboration | None = Field(None, description="Evidence needed to move the fact; default: "
                                                                "settings.corroborate.")
    regression: RegressionValue = Field(
        default_factory=lambda: Regression(operator=True),
        description="Ordered facts: a report of an earlier stage from a `backwards` signal needs this much "
                    "evidence, or (operator) only flags the fact for review.")
    signals: list[Signal] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FactSpec:
        kind = self.fact_kind
        if self.ordered and not self.values:
            raise ValueError("`ordered: true` needs the list of `values` in order")
        if kind == "status" and not self.values:
            raise ValueError("a status fact needs its `values`")
        if kind != "status" and self.values:
            raise ValueError(f"`values` only applies to status facts, not to kind: {kind}")
        if self.unit is not None and kind != "number":
            raise ValueError("`unit` only applies to kind: number")
        if self.precision is not None and kind != "number":
            raise ValueError("`precision` only applies to kind: number")
        return self

    @property
    def unit_name(self) -> str | None:
        """The unit as written, or a ``Unit``'s name."""
        return self.unit.name if isinstance(self.unit, Unit) else self.unit

    @property
    def unit_words(self) -> tuple[str, ...]:
        """How the text writes a ``Unit`` (its name first); ``()`` for a unit given as text."""
        return (self.unit.name, *self.unit.words) if isinstance(self.unit, Unit) else ()

    @property
    def fact_kind(self) -> str:
        return self.kind or ("status" if self.values else "text")


FactEvent = Literal["change", "pending", "contradiction", "review"]


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


FactEvents = Annotated[list[FactEvent], BeforeValidator(_listed, json_schema_input_type=FactEvent | list[FactEvent])]


def _one_fact(value: Any) -> Any:
    if isinstance(value, list):
        raise ValueError("`fact` names one fact; for several write `facts: [a, b]`, for every fact `facts: all`")
    return value


class AlertOn(Strict):
    """What fires the alert: a change of a fact (or of several), or a new item matching."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"oneOf": [{"required": ["fact"]}, {"required": ["items"]},
                                                           {"required": ["feed_down"]}, {"required": ["facts"]}]})

    fact: Annotated[Name | None, BeforeValidator(_one_fact)] = Field(
        None, description="Fire when this fact changes (or on another `event` of it).")
    event: FactEvents = Field(
        default_factory=lambda: ["change"],
        description="change: the fact moved; pending: a new value was reported and awaits corroboration; "
                    "contradiction: sources disagree within the window; review: a regression awaits an operator.")
    to: list[Value] | None = Field(None, description="Only for these values (the new value; for contradiction "
                                                     "and review, any value involved).")
    items: MatchSpec | None = Field(None, description="Fire for each new item that matches.")
    feeds: list[Name] | None = Field(None, description="Only items from these feeds (or feeds with these tags).")
    feed_down: Duration | None = Field(None, description="Fire when a feed has failed for this long, and again "
                                       "when it recovers (with `feeds`: only those feeds or tags).")
    updates: bool = Field(False, description="Also fire when a known item's title or text changes.")
    facts: list[Name] | Literal["all"] | None = Field(
        None, description="Fire when any of these facts changes (or on another `event` of it); `all`: every "
                          "fact. `to` values must be values of every fact named.")

    @model_validator(mode="after")
    def _exactly_one(self) -> AlertOn:
        about_facts = self.fact is not None or self.facts is not None
        if self.fact is not None and self.facts is not None:
            raise ValueError("`fact` names one fact and `facts` several: write one of them")
        if self.facts is not None and not self.facts:
            raise ValueError("`facts` cannot be empty: name the facts, or write `facts: all`")
        if self.feed_down is not None and (about_facts or self.items is not None):
            raise ValueError("`feed_down` cannot be combined with `fact`, `facts` or `items`")
        if self.feed_down is None and about_facts == (self.items is not None):
            raise ValueError("`on` needs exactly one of `fact`, `facts` or `items`")
        if self.to is not None and not about_facts:
            raise ValueError("`to` only applies to `on: {fact: ...}` and `on: {facts: ...}`")
        if self.event != ["change"] and not about_facts:
            raise ValueError("`event` only applies to `on: {fact: ...}` and `on: {facts: ...}`")
        if self.feeds is not None and self.items is None and self.feed_down is None:
            raise ValueError("`feeds` only applies to `on: {items: ...}` and `on: {feed_down: ...}`")
        if self.updates and self.items is None:
            raise ValueError("`updates` only applies to `on: {items: ...}`")
        return self


class Realert(Strict):
    """At most one alert of this rule per ``key`` every ``every``; the others are recorded as suppressed."""

    every: Duration = Field(description="The shortest time between two alerts of the rule with the same key.")
    key: str | None = Field(None, description="Template naming what counts as the same (default: the fact "
                                              "for fact alerts, the whole rule for item alerts).")

    @field_validator("key")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)


def _realert(value: Any) -> Any:
    return {"every": value} if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


class AlertSpec(Strict):
    name: Name
    on: AlertOn
    notify: list[Name] = Field(default_factory=list, description="Channels; default: every channel (or the console).")
    severity: Severity = "info"
    title: str | None = Field(None, description="Jinja2 template for the title.")
    body: str | None = Field(None, description="Jinja2 template for the body (markdown).")
    realert: Annotated[Realert | None, BeforeValidator(_realert)] = Field(
        None, description="Repeat interval: `1h`, or {every: 1h, key: template}.",
        json_schema_extra=lambda schema: schema["anyOf"].insert(0, {"type": ["string", "number"],
                                                                    "examples": ["1h"]}))
    digest: bool = Field(True, description="May join a digest on channels that have one; false: always alone.")

    @field_validator("title", "body")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class QuietHours(Strict):
    """A time of day (and/or days of the week) when the channel's deliveries are held until it ends."""

    start: str | None = Field(None, description='Local time the quiet period starts, "22:00".')
    end: str | None = Field(None, description='Local time it ends, "07:00" (may be the next day).')
    timezone: str = Field("UTC", description="IANA time zone of start, end and days, e.g. Europe/Kyiv.")
    days: list[Day] | None = Field(None, description="Days the period starts on (default every day); "
                                                     "without start/end the whole days are quiet.")
    except_severity: Severity | None = Field(None, description="Alerts of this severity or higher are "
                                                               "delivered anyway.")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^([01]?\d|2[0-3]):[0-5]\d$", str(value)):
            raise ValueError(f'expected a time of day such as "22:00", got {value!r}')
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'unknown time zone "{value}" (use an IANA name such as Europe/Kyiv or UTC)') from None
        return value

    @model_validator(mode="after")
    def _window(self) -> QuietHours:
        if (self.start is None) != (self.end is None):
            raise ValueError("quiet hours need both `start` and `end` (or neither, with `days`)")
        if self.start is None and not self.days:
            raise ValueError("quiet hours need `start` and `end`, or `days`")
        if self.start is not None and self.start == self.end:
            raise ValueError("`start` and `end` are the same time; list `days` for whole quiet days")
        return self


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


def _one_or_many(schema: dict[str, Any]) -> None:
    """JSON Schema of a list that may also be written as its one item."""
    items = schema.pop("items")
    schema.pop("type", None)
    schema["anyOf"] = [{"type": "array", "items": items}, items]


def _digest(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() == "cycle"):
        return None if value is None else 0.0
    if value is False:
        return None
    return parse_duration(value)


class ChannelSpec(Strict):
    url: str | None = Field(None, description="An apprise URL; write secrets as ${ENV_VAR}.")
    config: str | None = Field(None, description="An apprise config file (YAML or TEXT) holding the URLs, "
                                                 "relative to this rule file; readable by its owner only.")
    tag: str | None = Field(None, description="With `config`: only the services of the file with this tag.")
    format: Literal["auto", "markdown", "text"] = Field(
        "auto", description="Body format; auto: text for services that take text, markdown for the others.")
    min_severity: Severity = Field("info", description="Alerts below this severity are not sent here.")
    digest: Annotated[float | None, BeforeValidator(_digest)] = Field(
        None, description="Group alerts into one message: `cycle` (those due together) or a window "
                          "such as 10m (wait that long after the first).",
        json_schema_extra={"anyOf": [{"type": ["string", "number"], "examples": ["cycle", "10m"]},
                                     {"type": "boolean", "const": False}, {"type": "null"}]})
    quiet_hours: Annotated[list[QuietHours], BeforeValidator(_listed)] = Field(
        default_factory=list, description="When deliveries are held until the period ends (one period or a list).",
        json_schema_extra=_one_or_many)
    give_up: Duration | None = Field(None, description="Retry a failing delivery this long (default "
                                                       "settings.delivery.give_up).")

    @model_validator(mode="after")
    def _one_source(self) -> ChannelSpec:
        if (self.url is None) == (self.config is None):
            raise ValueError("a channel needs exactly one of `url` or `config`")
        if self.tag is not None and self.config is None:
            raise ValueError("`tag` only applies to a channel with `config`")
        return self


def _channel(value: Any) -> Any:
    return {"url": value} if isinstance(value, str) else value


ChannelValue = Annotated[ChannelSpec, BeforeValidator(_channel, json_schema_input_type=str | ChannelSpec)]


class RuleFile(Strict):
    """One YAML file of rules. All files in the rules folder are merged."""

    settings: SettingsSpec | None = None
    feeds: dict[Name, FeedSpec] = Field(default_factory=dict)
    facts: dict[Name, FactSpec] = Field(default_factory=dict)
    alerts: list[AlertSpec] = Field(default_factory=list)
    channels: dict[Name, ChannelValue] = Field(default_factory=dict)
    terms: dict[Name, Annotated[TermList, Field(min_length=1)]] = Field(
        default_factory=dict, description="Named lists of terms, shared by every rule file: any list of terms "
                                          "(all, any, none, or another named list) takes {terms: NAME} to splice "
                                          "one in its place.")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editors (``watcher schema``; committed as
    ``rules/watcher.schema.json``)."""
    document = RuleFile.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "watcher rule file"
    return document
