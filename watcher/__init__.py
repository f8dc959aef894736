"""watcher: a daemon that watches news feeds, keeps a ledger of known facts, and alerts people
when new items change a fact or match a rule.

The pipeline, one stage per module: ``fetch`` -> ``parse`` -> ``store`` (new items) ->
``match`` -> ``facts`` -> ``alerts`` -> ``store`` (outbox) -> ``deliver``; ``pipeline.check_feed``
shows it top to bottom, ``app.Watcher`` runs it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
