"""Colours and words of the report, shared by its figures and its HTML tables."""

from __future__ import annotations

__all__ = ["APPLICABILITY_COLOURS", "DEFAULT_COLOUR", "POWER_COLOURS", "POWER_TEXT",
           "VERDICT_COLOURS"]

VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "undecided": "#ef6c00",
                   "skip": "#9e9e9e", "error": "#6a1b9a"}
"""Background of a cell or a box by a record's verdict."""

POWER_COLOURS = {"yes": "#2e7d32", "no": "#c62828", "unknown": "#9e9e9e",
                 "not targeted": "#bdbdbd", "exempt": "#757575", "cross-talk": "#ad1457",
                 "expected cross-talk": "#8d6e63", "clean": "#66bb6a"}
"""Background of a power-matrix "power" cell by its value."""

POWER_TEXT = {"yes": "yes: fails with the defect, passes with the fix",
              "no": "NO: does not tell the defect from the fix",
              "unknown": "unknown (skipped, errored or not run)",
              "not targeted": "not run on this defect dataset",
              "exempt": "exempt: a check of this issue the defect is not meant to make fail",
              "cross-talk": "CROSS-TALK: fails with another issue's defect, passes with the fix",
              "expected cross-talk": "expected cross-talk: the defect causes this symptom too",
              "clean": "passes with this other defect (no cross-talk)"}
"""What a power value means (the cell's tooltip when its line has no note)."""

APPLICABILITY_COLOURS = {"affected": "#c62828", "at risk": "#ef6c00",
                         "not applicable": "#9e9e9e"}
"""Background of an applicability cell by its status."""

DEFAULT_COLOUR = "#555"
"""Background of a summary or applicability cell whose status has no colour above."""
