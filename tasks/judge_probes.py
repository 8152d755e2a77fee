"""Known-answer probes for the rubric judge: does the judge see what humans see?

Every base dialogue and its probes are judged with the same rubric; the metrics pair each probe
with its base (``probe_accuracy``, ``invariance_violation_rate``; see scorers/probe_metrics.py).
No candidate model is called: the dialogues are replayed (or, for semantic probes on your own
data, written by the perturber model), so ``--model`` may be omitted or any model.

    inspect eval tasks/judge_probes.py --model-role grader=<judge model>
    inspect eval emplifai/judge_probes --model-role grader=<judge> -T rubric=neutral
    inspect eval emplifai/judge_probes --model-role grader=<judge> --model-role perturber=<model> -T data=my.jsonl
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample

from emplifai.data.fingerprint import data_fingerprint
from emplifai.data.loaders import load_dialogues, parse_column_map
from emplifai.errors import UserError
from emplifai.params import BUNDLED_DATA, choice_param, data_param, int_param, str_param
from emplifai.probes.automatic import PROBE_VERSION
from emplifai.probes.dataset import PROBE_SET_PATH, choose_bases, load_probe_set, probe_samples
from emplifai.probes.kinds import DEGRADING, parse_kinds
from emplifai.scorers.probe_metrics import probe_judge, probe_metrics
from emplifai.scorers.rubric_judge import MODES, check_grader, check_grader_bound, format_failure_rate, unscored
from emplifai.scorers.rubrics import SEVEN_METRIC_RUBRICS
from emplifai.solvers.probe_perturber import BRIEF_SHA256, BRIEF_VERSION
from emplifai.solvers.probe_replay import check_perturber, probe_replay
from emplifai.taxonomy import LANGUAGES


@task
def judge_probes(
    data: str | None = BUNDLED_DATA,
    probe_data: str | None = None,
    probes: str | list[str] = "all",
    rubric: str = "default",
    language: str = "ja",
    n: int | None = None,
    seed: int = 42,
    judge_mode: str = "all",
    columns: str | None = None,
) -> Task:
    """Known-answer probes: base dialogues and controlled rewrites of them, judged by the grader.

    Args:
        data: The base dialogues: a path (JSONL, CSV, Parquet, a `datasets` folder) or hub id in
            the EmplifAI schema. Default: the bundled Japanese sample set, whose hand-written
            probe set is then used for the semantic probes.
        probe_data: Hand-written semantic probes for `data` (canonical columns plus probe_kind,
            base_dialogue_id, expected). Default: the bundled probe set with the bundled data;
            none with your own data (the semantic probes then come from the perturber model,
            `--model-role perturber=...`).
        probes: "all" or a comma list of cold_correct, wrong_emotion, dismissive, off_topic
            (degrading) and padded, injected, label_noise (invariance).
        rubric: "default" (the project's rubric and its principles) or "neutral" (the seven
            definitions only).
        language: "ja" or "en": the rubric and judge prompt, and the language of the automatic
            probes' filler and injected note (use the language of the data).
        n: Number of base dialogues, drawn with `seed` (default: all; the bundled set has 56,
            one per situation).
        seed: Seed of the base draw, of the automatic probes' choices, of the perturber's target
            emotion for wrong_emotion, and of the bootstrap intervals.
        judge_mode: "all" (one judge call for the seven metrics) or "per_metric".
        columns: Column mapping for data whose columns are named otherwise, e.g. "emotion=label".
    """
    judge_mode = choice_param("judge_mode", judge_mode, MODES)
    p = ProbeInputs("judge_probes", data=data, probe_data=probe_data, probes=probes, rubric=rubric,
                    language=language, n=n, seed=seed, columns=columns)
    data, rubric, language, seed, kinds, records = p.data, p.rubric, p.language, p.seed, p.kinds, p.records
    probe_path, probe_set, semantic, bases = p.probe_path, p.probe_set, p.semantic, p.bases
    samples = probe_samples(bases, probe_set, kinds, language=language, seed=seed)
    uses_perturber = bool(semantic) and probe_set is None
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-judge-probes", location=str(data or BUNDLED_DATA)),
        setup=[check_grader(), check_perturber()],
        solver=probe_replay(),
        scorer=probe_judge(mode=judge_mode, language=language, rubric=rubric),
        # The scorer's metrics, with the bootstrap seeded by -T seed.
        metrics=[probe_metrics(seed=seed), format_failure_rate(), unscored()],
        metadata={
            "probe_version": PROBE_VERSION,
            "probe_kinds": list(kinds),
            "samples_per_kind": samples_per_kind(samples),
            "n_bases": len(bases),
            "rubric": rubric,
            "probe_set": str(probe_path) if probe_set is not None else None,
            "semantic_probes_from": "perturber" if uses_perturber else ("probe_set" if semantic else None),
            "perturber_brief": f"{BRIEF_VERSION} sha256:{BRIEF_SHA256}" if uses_perturber else None,
            "data_fingerprint": data_fingerprint(records),
            "seed": seed,
        },
    )


class ProbeInputs:
    """The probe tasks' shared parameters (judge_probes, pairwise_probes), checked, and what they
    name: the base records, the probe set and the chosen base dialogues. A plain class: Inspect
    loads this file by path (`inspect eval tasks/judge_probes.py`), outside sys.modules."""

    def __init__(self, task_name: str, *, data: Any, probe_data: Any, probes: Any, rubric: Any, language: Any,
                 n: Any, seed: Any, columns: Any) -> None:
        self.data = data_param("data", data)
        probe_data = str_param("probe_data", probe_data)
        if isinstance(probes, (list, tuple)):  # the CLI reads -T probes=a,b,c as a list
            probes = ",".join(str(p) for p in probes)
        probes = str_param("probes", probes, optional=False) or "all"
        # Probes expect the seven metrics (which must drop, which must stay): only rubrics that score them.
        self.rubric = choice_param("rubric", rubric, SEVEN_METRIC_RUBRICS)
        self.language = choice_param("language", language, LANGUAGES)
        n = int_param("n", n, min=1, optional=True)
        self.seed = int_param("seed", seed) or 0  # not optional: never None
        columns = str_param("columns", columns)
        try:
            self.kinds = parse_kinds(probes)
        except ValueError as e:
            raise UserError(f"-T probes: {e}") from None
        self.records = load_dialogues(self.data, column_map=parse_column_map(columns) if columns else None)
        check_grader_bound(task_name)  # under `inspect eval`: one line, non-zero exit, no sample run
        self.probe_path = probe_data or (PROBE_SET_PATH if self.data is None else None)
        self.semantic = [k for k in self.kinds if k in DEGRADING]
        self.probe_set = (load_probe_set(self.probe_path, self.records)
                          if self.probe_path is not None and self.semantic else None)
        self.bases = choose_bases(self.records, self.probe_set, n, self.seed)


def samples_per_kind(samples: list[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in samples:
        kind = (s.metadata or {})["probe_kind"]
        counts[kind] = counts.get(kind, 0) + 1
    return counts
