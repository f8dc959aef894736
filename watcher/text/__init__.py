"""Reading an item's text the way a careful person would. Pure; no I/O.

- ``sentences``: sentences and clauses of a field (so terms can be required to appear in one
  sentence, and a "not" in one clause does not spoil the next);
- ``guards``: the cues of text that asks, denies, predicts or argues rather than reports, and
  what each reaches; ``cues``: those cues, pseudo-cues and terminators, as tables;
  ``inventory``: the tables spelled out (every wording, the terms that can cancel a cue);
- ``quantity``: amounts with their unit ("$61bn" -> 61e9 USD), rates and ranges, the
  placeholders of extract patterns, and how values are stored and printed;
- ``rates``: levels in percent, changes in points and ranges of levels ("3.25%-3.5%");
- ``numerals``: one number in digits, fractions or words ("5-1/2", "2¼", "a quarter");
- ``redos``: patterns whose matching time can explode are refused when the rules load;
- ``view``: one item's text, split and scanned once, shared by every matcher that reads it.
"""
