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
from emplifai.params import BUNDLED_DATA, choice_param, int_param
from emplifai.probes.automatic import PROBE_VERSION
from emplifai.probes.dataset import probe_samples
from emplifai.probes.kinds import BASE
from emplifai.scorers.pairwise_judge import BASELINE_DIALOGUE, pairwise_judge, pairwise_metrics
from emplifai.scorers.pairwise_probe_metrics import pairwise_probe_metrics
from emplifai.scorers.pairwise_prompt import PAIRWISE_PROMPT_SHA256, PAIRWISE_PROMPT_VERSION
from emplifai.scorers.rubric_judge import STRUCTURED, check_grader
from emplifai.solvers.probe_replay import check_perturber, probe_replay
from emplifai.tasks.judge_probes import ProbeInputs, samples_per_kind


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
    judge_retries = int_param("judge_retries", judge_retries, min=0)
    judge_max_tokens = int_param("judge_max_tokens", judge_max_tokens, min=1, optional=True)
    if isinstance(structured, bool):
        structured = "on" if structured else "off"
    structured = choice_param("structured", structured, STRUCTURED)
    p = ProbeInputs("pairwise_probes", data=data, probe_data=probe_data, probes=probes, rubric=rubric,
                    language=language, n=n, seed=seed, columns=columns)
    data, rubric, language, seed, kinds, records = p.data, p.rubric, p.language, p.seed, p.kinds, p.records
    probe_path, probe_set, semantic, bases = p.probe_path, p.probe_set, p.semantic, p.bases
    samples = pair_with_bases(probe_samples(bases, probe_set, kinds, language=language, seed=seed))
    counts = samples_per_kind(samples)
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
