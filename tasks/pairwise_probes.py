"""Known-answer probes judged pairwise: every probe against its own base dialogue, in both orders.
A cold-but-correct rewrite should lose to its original, a padded one should tie. The figures carry
the absolute probe task's names (tasks/judge_probes.py), so the two ways of judging can be read
side by side for one judge.

    inspect eval tasks/pairwise_probes.py --model-role grader=<judge model>
    inspect eval emplifai/pairwise_probes --model-role grader=<judge> -T probes=cold_correct,padded
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
from emplifai.probes.kinds import BASE, DEGRADING, parse_kinds
from emplifai.scorers.pairwise_judge import BASELINE_DIALOGUE, pairwise_judge, pairwise_metrics
from emplifai.scorers.pairwise_probe_metrics import pairwise_probe_metrics
from emplifai.scorers.pairwise_prompt import PAIRWISE_PROMPT_SHA256, PAIRWISE_PROMPT_VERSION
from emplifai.scorers.rubric_judge import STRUCTURED, check_grader, check_grader_bound
from emplifai.scorers.rubrics import SEVEN_METRIC_RUBRICS
from emplifai.solvers.probe_replay import check_perturber, probe_replay
from emplifai.taxonomy import LANGUAGES


def pair_with_bases(samples: list[Sample]) -> list[Sample]:
    """The probe samples, each carrying its base dialogue as the pairwise baseline (the base
    samples themselves are not judged: they are the other side of every pair)."""
    bases = {str((s.metadata or {})["base_dialogue_id"]): s for s in samples if (s.metadata or {})["probe_kind"] == BASE}
    out = []
    for s in samples:
        md: dict[str, Any] = dict(s.metadata or {})
        if md["probe_kind"] == BASE:
            continue
        base = bases[str(md["base_dialogue_id"])]
        md |= {
            BASELINE_DIALOGUE: (base.metadata or {})["replay_text"],
            "baseline_source": f"base dialogue {md['base_dialogue_id']}",
            "candidate_source": f"{md['probe_kind']} probe ({md['probe_source']})",
        }
        out.append(Sample(id=s.id, input=s.input, metadata=md))
    return out


@task
def pairwise_probes(
    data: str | None = BUNDLED_DATA,
    probe_data: str | None = None,
    probes: str | list[str] = "all",
    rubric: str = "default",
    language: str = "ja",
    n: int | None = None,
    seed: int = 42,
    columns: str | None = None,
    judge_retries: int = 2,
    judge_max_tokens: int | None = None,
    structured: str = "auto",
) -> Task:
    """Known-answer probes, each judged pairwise against its base dialogue.

    Args:
        data: The base dialogues (as for tasks/judge_probes.py; default: the bundled sample set,
            whose hand-written probe set is then used for the semantic probes).
        probe_data: Hand-written semantic probes for `data` (as for judge_probes).
        probes: "all" or a comma list of cold_correct, wrong_emotion, dismissive, off_topic
            (degrading) and padded, injected, label_noise (invariance).
        rubric: "default" or "neutral" (the probes expect the seven metrics).
        language: "ja" or "en": the rubric and judge prompt, and the automatic probes' language.
        n: Number of base dialogues, drawn with `seed` (default: all).
        seed: Seed of the base draw, of the automatic probes and of the bootstrap intervals.
        columns: Column mapping for data whose columns are named otherwise.
        judge_retries: Corrective retries after an unusable judge reply, per order (>= 0).
        judge_max_tokens: Token limit of each judge reply (default: the grader's own config).
        structured: JSON-schema constrained judge output: "on", "off" or "auto".
    """
    data = data_param("data", data)
    probe_data = str_param("probe_data", probe_data)
    if isinstance(probes, (list, tuple)):  # the CLI reads -T probes=a,b,c as a list
        probes = ",".join(str(p) for p in probes)
    probes = str_param("probes", probes, optional=False) or "all"
    rubric = choice_param("rubric", rubric, SEVEN_METRIC_RUBRICS)
    language = choice_param("language", language, LANGUAGES)
    n = int_param("n", n, min=1, optional=True)
    seed = int_param("seed", seed) or 0
    columns = str_param("columns", columns)
    judge_retries = int_param("judge_retries", judge_retries, min=0)
    judge_max_tokens = int_param("judge_max_tokens", judge_max_tokens, min=1, optional=True)
    if isinstance(structured, bool):
        structured = "on" if structured else "off"
    structured = choice_param("structured", structured, STRUCTURED)
    try:
        kinds = parse_kinds(probes)
    except ValueError as e:
        raise UserError(f"-T probes: {e}") from None
    records = load_dialogues(data, column_map=parse_column_map(columns) if columns else None)
    check_grader_bound("pairwise_probes")  # after the data, as in generation
    probe_path = probe_data or (PROBE_SET_PATH if data is None else None)
    semantic = [k for k in kinds if k in DEGRADING]
    probe_set = load_probe_set(probe_path, records) if probe_path is not None and semantic else None
    bases = choose_bases(records, probe_set, n, seed)
    samples = pair_with_bases(probe_samples(bases, probe_set, kinds, language=language, seed=seed))
    counts: dict[str, int] = {}
    for s in samples:
        kind = (s.metadata or {})["probe_kind"]
        counts[kind] = counts.get(kind, 0) + 1
    return Task(
        dataset=MemoryDataset(samples, name="emplifai-pairwise-probes", location=str(data or BUNDLED_DATA)),
        setup=[check_grader(), check_perturber()],
        solver=probe_replay(),
        scorer=pairwise_judge(language=language, max_retries=judge_retries, structured=structured,
                              max_tokens=judge_max_tokens, rubric=rubric),
        metrics=[pairwise_metrics(), pairwise_probe_metrics(seed=seed)],
        metadata={
            "pairwise_prompt_version": PAIRWISE_PROMPT_VERSION,
            "pairwise_prompt_sha256": PAIRWISE_PROMPT_SHA256,
            "probe_version": PROBE_VERSION,
            "probe_kinds": list(kinds),
            "samples_per_kind": counts,
            "n_bases": len(bases),
            "rubric": rubric,
            "probe_set": str(probe_path) if probe_set is not None else None,
            "semantic_probes_from": ("perturber" if semantic and probe_set is None
                                     else ("probe_set" if semantic else None)),
            "data_fingerprint": data_fingerprint(records),
            "seed": seed,
        },
    )
