"""The data parameters every task shares (``-T data``, ``n``, ``seed``, ``columns``, ``encoding``,
``language``) and the draw of the generation benchmark's (emotion, situation) pairs, as one helper.

Each task checks these parameters the same way (``emplifai.params``), reads the data the same way
(``load_dialogues``) and, where it evaluates pairs, draws them the same way (``draw_eval_pairs``),
so two tasks given the same values see the same pairs in the same order: a pairwise run over the
dialogues a generation run wrote is judged on exactly the generation run's samples. The task
metadata describing the data and the draw is built here too, so every log names them alike.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emplifai.data.fingerprint import data_fingerprint
from emplifai.data.loaders import load_dialogues, parse_column_map
from emplifai.data.schema import DialogueRecord
from emplifai.pairs import draw_eval_pairs
from emplifai.params import BUNDLED_DATA, choice_param, data_param, int_param, str_param
from emplifai.taxonomy import LANGUAGES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskData:
    """The checked data parameters and the records they name."""

    data: str | None
    columns: str | None
    encoding: str | None
    language: str
    records: list[DialogueRecord]

    @property
    def location(self) -> str:
        """How a log names the data: the path or hub id given, else the bundled sample."""
        return str(self.data or BUNDLED_DATA)

    @property
    def fingerprint(self) -> str:
        return data_fingerprint(self.records)


@dataclass(frozen=True)
class DrawnPairs:
    """The (emotion, situation) pairs a task evaluates, each represented by its reference dialogue."""

    pairs: list[DialogueRecord]
    n_requested: int
    seed: int

    @property
    def short(self) -> bool:
        """The data held fewer pairs than requested, so every pair is evaluated."""
        return len(self.pairs) < self.n_requested

    def metadata(self, task_data: TaskData, kept: Sequence[DialogueRecord] | None = None) -> dict[str, Any]:
        """The task metadata about the data and the draw. ``kept``: the pairs evaluated after the
        leak check (default: every drawn pair); ``n_pairs`` and ``eval_situation_ids`` count those,
        ``fewer_pairs_than_requested`` the draw."""
        evaluated = self.pairs if kept is None else kept
        return {
            "n_requested": self.n_requested,
            "n_pairs": len(evaluated),
            "fewer_pairs_than_requested": self.short,
            "n_dialogues": len(task_data.records),
            "data_fingerprint": task_data.fingerprint,
            "seed": self.seed,
            "eval_situation_ids": sorted(rec.situation_id for rec in evaluated),
        }


def load_task_data(
    data: Any = BUNDLED_DATA, *, columns: Any = None, encoding: Any = None, language: Any = "ja"
) -> TaskData:
    """Check ``-T data / columns / encoding / language`` and read the records.

    A wrong value is a ``UserError`` naming the parameter (``emplifai.params``); unreadable or
    invalid data is the loader's error, which names the file, row and field.
    """
    data = data_param("data", data)  # BUNDLED_DATA -> None (the bundled sample); null refused
    columns = str_param("columns", columns)
    encoding = str_param("encoding", encoding)
    language = choice_param("language", language, LANGUAGES)
    records = load_dialogues(data, column_map=parse_column_map(columns) if columns else None, encoding=encoding)
    return TaskData(data=data, columns=columns, encoding=encoding, language=language, records=records)


def draw_task_pairs(task_data: TaskData, n: Any = 100, seed: Any = 42, *, task: str) -> DrawnPairs:
    """Check ``-T n / seed`` and draw the pairs with ``draw_eval_pairs`` (the generation task's draw).

    Where the data holds fewer pairs than ``n``, every pair is evaluated and a warning names the
    task, the data and both counts (the metadata says ``fewer_pairs_than_requested``).
    """
    n_checked = int_param("n", n, min=1)
    seed_checked = int_param("seed", seed)
    assert n_checked is not None and seed_checked is not None  # not optional
    drawn = DrawnPairs(draw_eval_pairs(task_data.records, n_checked, seed_checked), n_checked, seed_checked)
    if drawn.short:
        logger.warning(
            "%s: -T n=%d but %s holds only %d (emotion, situation) pairs; evaluating all %d",
            task, n_checked, task_data.data or "the bundled sample", len(drawn.pairs), len(drawn.pairs),
        )
    return drawn
