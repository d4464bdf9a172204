"""Stage outcomes: what each stage (reading a corpus, extracting a modality) made of every utterance.

An utterance a stage could not use (a missing file, a corrupt video, no face) is counted under a status
word instead of being skipped silently. Stages write their outcomes as ``{stage}.json``; the results
report (:mod:`multiemo.report`) shows their counts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

from multiemo.io import write_json

OK = "ok"


@dataclass
class StageOutcomes:
    """Outcomes of one stage (e.g. ``"audio"``) for every utterance it was asked to process.

    ``statuses`` maps an utterance key (``"{dialogue_id}/{utterance_id}"``) to a short status word:
    ``ok`` or a problem such as ``missing_file``, ``corrupt``, ``no_audio``, ``no_video``, ``no_face``,
    ``silent``, ``too_short``. ``messages`` holds a human-readable detail for problems.
    """

    stage: str
    statuses: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, status: str = OK, message: str = "") -> None:
        """Record the outcome for one utterance (a later call for the same key overrides)."""
        self.statuses[key] = status
        if message:
            self.messages[key] = message
        else:
            self.messages.pop(key, None)

    def counts(self) -> dict[str, int]:
        """Number of utterances per status, most common first."""
        return dict(Counter(self.statuses.values()).most_common())

    def problems(self) -> dict[str, list[str]]:
        """Utterance keys per non-``ok`` status."""
        out: dict[str, list[str]] = {}
        for key, status in self.statuses.items():
            if status != OK:
                out.setdefault(status, []).append(key)
        return out

    def summary(self, max_keys: int = 5) -> str:
        """One line per status, e.g. ``audio: 3 missing_file: dia1/2, dia4/0, ...``."""
        lines = [f"{self.stage}: {len(self.statuses)} utterances, {self.counts().get(OK, 0)} ok"]
        for status, keys in sorted(self.problems().items()):
            shown = ", ".join(keys[:max_keys]) + (", ..." if len(keys) > max_keys else "")
            lines.append(f"  {len(keys)} {status}: {shown}")
        return "\n".join(lines)

    def merge(self, other: StageOutcomes) -> None:
        """Fold the outcomes of another part of the same stage (e.g. another shard) into these."""
        self.statuses.update(other.statuses)
        self.messages.update(other.messages)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "counts": self.counts(), "statuses": self.statuses,
                "messages": self.messages}

    @classmethod
    def from_dict(cls, data: dict) -> StageOutcomes:
        return cls(stage=data["stage"], statuses=dict(data["statuses"]),
                   messages=dict(data.get("messages", {})))

    def write(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: str | os.PathLike) -> StageOutcomes:
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))
