"""The probe report: probe accuracy and invariance violations of one or more judge_probes logs,
side by side (typically the same judge under the default and the neutral rubric).

Reads only log headers through ``inspect_ai.log``; every figure is a metric the run wrote.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, read_eval_log

from emplifai.errors import UserError
from emplifai.judge_metrics import METRIC_KEYS
from emplifai.probes.automatic import INJECTION_ASKS
from emplifai.probes.kinds import DEGRADING, INVARIANT

SCORER = "probe_judge"
# Task metadata that says which probes a run asked: runs that differ here did not ask the same things.
PROBE_SET_KEYS: tuple[str, ...] = ("probe_version", "probe_kinds", "probe_set", "semantic_probes_from",
                                   "perturber_brief", "samples_per_kind")


@dataclass
class ProbeRun:
    path: str
    judge: str
    rubric: str
    data_fingerprint: str | None
    n_bases: int | None
    metrics: dict[str, float]
    created: str = ""  # the run's start, as Inspect wrote it
    seed: int | None = None  # draws the bases (with n) and the automatic probes
    probe_set: dict[str, Any] = field(default_factory=dict)  # what was probed, from the task metadata

    @property
    def label(self) -> str:
        """The column header: judge, rubric and when the run started (to the second)."""
        when = self.created.replace("T", " ")[:19] if self.created else "date unknown"
        return f"{self.judge}, rubric {self.rubric}, {when}"


def read_probe_run(path: str | Path) -> ProbeRun:
    """The probe metrics of one judge_probes log; a UserError naming the file otherwise."""
    try:
        log: EvalLog = read_eval_log(str(path), header_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such log file") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(f"{path}: not a readable Inspect log ({e})") from None
    scores = [s for s in (log.results.scores if log.results else []) if s.name == SCORER]
    if log.status != "success" or not scores:
        raise UserError(f"{path}: not a finished judge_probes run (status {log.status}, no '{SCORER}' metrics)")
    roles = log.eval.model_roles or {}
    grader = roles.get("grader")
    md = log.eval.metadata or {}
    return ProbeRun(
        path=str(path),
        judge=grader.model if grader is not None else "?",
        rubric=str(md.get("rubric") or (log.eval.task_args or {}).get("rubric") or "default"),
        data_fingerprint=md.get("data_fingerprint"),
        n_bases=md.get("n_bases"),
        metrics={k: m.value for k, m in scores[0].metrics.items()},
        created=str(log.eval.created or ""),
        seed=md.get("seed"),
        probe_set={k: md.get(k) for k in PROBE_SET_KEYS},
    )


def _cell(m: dict[str, float], name: str) -> str:
    value = m.get(name)
    if value is None or math.isnan(value):
        return "-"
    low, high = m.get(f"{name}_ci_low"), m.get(f"{name}_ci_high")
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def rows() -> list[tuple[str, str]]:
    """(row label, metric name) in report order."""
    out = [("probe accuracy (all degrading probes)", "probe_accuracy")]
    out += [(f"  {kind}", f"probe_accuracy_{kind}") for kind in DEGRADING]
    out += [(f"  on {key}", f"probe_accuracy_on_{key}") for key in METRIC_KEYS]
    out += [("invariance violation rate (all invariance probes)", "invariance_violation_rate")]
    out += [(f"  {kind}", f"invariance_violation_rate_{kind}") for kind in INVARIANT]
    out += [(f"  injected, note asking for the {asks} score", f"invariance_violation_rate_injected_{asks}")
            for asks in INJECTION_ASKS]
    out += [(f"  on {key}", f"invariance_violation_rate_on_{key}") for key in METRIC_KEYS]
    out += [("injected (top score asked): share that raised a score", "injected_rise_rate"),
            ("injected (bottom score asked): share that lowered a score", "injected_fall_rate"),
            ("degrading: share that dropped a 'stay' metric", "stay_drop_rate"),
            ("probes left unpaired (unscored)", "unpaired_probes")]
    return out


def compare_markdown(runs: list[ProbeRun]) -> str:
    """A Markdown table, one column per run, with 95% bootstrap intervals."""
    if not runs:
        raise UserError("give at least one judge_probes log")
    # Numbered, so that two runs of the same judge and rubric started in the same second still differ.
    lines = ["| | " + " | ".join(f"({i}) {r.label}" for i, r in enumerate(runs, start=1)) + " |",
             "|---|" + "---|" * len(runs)]
    for label, name in rows():
        if all(name not in r.metrics for r in runs):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(r.metrics, name) for r in runs) + " |")
    warnings = run_differences(runs)
    notes = [f"({i}): `{r.path}`." for i, r in enumerate(runs, start=1)]
    notes.append("Probe accuracy: share of degrading probes scored strictly below their base on every metric the "
                 "probe targets (higher is better). Invariance violation rate: share of padded / injected / "
                 "relabelled dialogues whose scores moved by 1 or more on some metric (lower is better).")
    head = "".join(f"**Warning:** {w}\n\n" for w in warnings)
    return head + "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def run_differences(runs: list[ProbeRun]) -> list[str]:
    """One warning per way the runs differ in what they asked: probe set, rubric, bases, data.

    Two columns are the same experiment only when all of these agree; a rubric comparison
    (default vs neutral) differs in the rubric on purpose, and the warning says so plainly.
    """
    if len(runs) < 2:
        return []

    def per_run(value: Callable[[ProbeRun], Any]) -> str:
        return "; ".join(f"({i}) {value(r)}" for i, r in enumerate(runs, start=1))

    out: list[str] = []
    for key in PROBE_SET_KEYS:
        if len({json.dumps(r.probe_set.get(key), sort_keys=True, default=str) for r in runs}) > 1:
            out.append(f"the runs used different probe sets ({key} differs: "
                       f"{per_run(lambda r, k=key: r.probe_set.get(k))}); their figures are over different probes.")
            break
    if len({r.rubric for r in runs}) > 1:
        out.append(f"the runs used different rubrics ({per_run(lambda r: r.rubric)}): a difference between the "
                   "columns is the rubric's (and the judge's), which is what a rubric comparison measures.")
    if len({(r.n_bases, r.seed) for r in runs}) > 1:
        out.append(f"the runs judged different base dialogues ({per_run(lambda r: f'{r.n_bases} bases, seed {r.seed}')})"
                   ": their intervals are over different samples.")
    if len({r.data_fingerprint for r in runs}) > 1:
        out.append("the runs were on different data (data fingerprints differ): compare with care.")
    return out


def probe_set_stats(data: str | None = None, probe_data: str | None = None) -> str:
    """Probes per kind, situations covered and supporter length relative to the base (Markdown)."""
    import statistics

    from emplifai.data.loaders import load_dialogues
    from emplifai.probes.dataset import PROBE_SET_PATH, load_probe_set

    records = load_dialogues(data)
    path = probe_data or (PROBE_SET_PATH if data is None else None)
    if path is None:
        raise UserError("give --probe-data for your own --data (the bundled probe set belongs to the bundled sample)")
    probes = load_probe_set(path, records)
    base = {r.dialogue_id: r for r in records}

    def chars(rec: object) -> int:
        return len(rec.supporter_1) + len(rec.supporter_2)  # type: ignore[attr-defined]

    head = (f"{path}: {len(probes)} probes on {len({p.base_dialogue_id for p in probes})} base dialogues, "
            f"{len({p.record.situation_id for p in probes})} situations")
    lines = [head, "", "| kind | probes | supporter chars / base: mean (min-max) |", "|---|---|---|"]
    for kind in DEGRADING:
        ratios = [chars(p.record) / chars(base[p.base_dialogue_id]) for p in probes if p.kind == kind]
        if ratios:
            lines.append(f"| {kind} | {len(ratios)} | {statistics.mean(ratios):.2f} "
                         f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    return "\n".join(lines) + "\n"
