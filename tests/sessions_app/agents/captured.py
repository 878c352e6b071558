"""Screens captured from the real agent CLIs (tests/fixtures/<cli>-<version>/, each with an INDEX.tsv of the pane's
metadata and a README), as observations with the status their file name promises."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sessions_app.detection import Observation

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"

EXPECTED_BY_PREFIX = {
    "idle": "idle",
    "draft": "idle",
    "busy": "busy",
    "permission": "waiting",
    "question": "waiting",
    "firstrun": "waiting",
    "stopped": "stopped",
}


@dataclass(frozen=True)
class Capture:
    name: str
    observation: Observation
    note: str

    @property
    def expected(self) -> str:
        return EXPECTED_BY_PREFIX[self.name.split("_")[0]]

    @property
    def screen(self) -> str:
        return self.observation.screen


def captures(directory: str) -> list[Capture]:
    base = FIXTURES / directory
    with open(base / "INDEX.tsv", encoding="utf-8", newline="") as index:
        rows = list(csv.DictReader(index, delimiter="\t"))
    found = []
    for row in rows:
        observation = Observation(
            screen=(base / f"{row['name']}.txt").read_text(encoding="utf-8"),
            pane_title=row["pane_title"],
            pane_current_command=row["pane_current_command"],
            pane_dead=row["pane_dead"] == "1",
            alternate_on=row["alternate_on"] == "1",
        )
        found.append(Capture(row["name"], observation, row["note"]))
    return found
