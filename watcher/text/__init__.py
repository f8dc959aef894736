"""Reading an item's text the way a careful person would. Pure; no I/O.

- ``sentences``: sentences and clauses of a field (so terms can be required to appear in one
  sentence, and a "not" in one clause does not spoil the next);
- ``guards``: the cues of text that asks, denies, predicts or argues rather than reports, and
  what each reaches; ``cues``: those cues, pseudo-cues and terminators, as tables;
  ``inventory``: the tables spelled out (every wording, the terms that can cancel a cue);
- ``quantity``: amounts with their unit ("$61bn" -> 61e9 USD) and how to print them;
- ``redos``: patterns whose matching time can explode are refused when the rules load;
- ``view``: one item's text, split and scanned once, shared by every matcher that reads it.
"""
