"""The rule files: their language (``schema`` and ``terms``), reading with locations
(``yamlsrc``), checking entry by entry (``validate``, ``problems``), merging and compiling
(``build``, ``factrules``, ``matchers``), the whole load (``load``), and the compiled, immutable
``Ruleset`` the daemon runs on (``compiled``)."""

from .compiled import CONSOLE, AlertRule, Channel, Fact, Feed, Ruleset, Secret, Signal
from .load import load_rules, rule_files

__all__ = ["CONSOLE", "AlertRule", "Channel", "Fact", "Feed", "Ruleset", "Secret", "Signal",
           "load_rules", "rule_files"]
