"""The probe report: probe accuracy and invariance violations of one or more probe logs, side by
side: judge_probes runs (each dialogue scored alone: *absolute* judging) and pairwise_probes runs
(each probe judged against its base in both orders: *pairwise* judging), typically the same judge
under the default and the neutral rubric, or the same judge in both ways of judging.

Reads only log headers through ``inspect_ai.log``; every figure is a metric the run wrote, and the
trust verdict is ``emplifai.probes.trust``'s, read from those metrics by the rule printed with it.
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
from emplifai.probes.kinds import BASE, DEGRADING, INVARIANT
from emplifai.probes.trust import ABSOLUTE, PAIRWISE, PROBE_MODES, TRUST_RULE, trust_verdict

# The score that holds the probe metrics, per way of judging: the pairwise probes reuse the pairwise
# judge (tasks/pairwise.py), whose score keeps that judge's name.
SCORERS: dict[str, str] = {ABSOLUTE: "probe_judge", PAIRWISE: "pairwise_judge"}
# Task metadata that says which probes a run asked: runs that differ here did not ask the same things.
PROBE_SET_KEYS: tuple[str, ...] = ("probe_version", "probe_kinds", "probe_set", "semantic_probes_from",
                                   "perturber_brief", "samples_per_kind")
# Verdicts that judge the judge, best first; "too few bases" and "no usable pairs" are not among
# them: they say the run cannot tell, so a run with one is never ranked against another.
VERDICT_ORDER: tuple[str, ...] = ("consistent", "inconclusive", "not to be trusted")
COMPARE_RULE = (
    "Rule: an absolute and a pairwise run are compared only when they share the judge, the rubric, the probe "
    "kinds, the base dialogues (number and seed) and the data; the better verdict is the earlier in "
    f"{' > '.join(VERDICT_ORDER)}; 'too few bases' and 'no usable pairs' are no verdict on the judge and give "
    "no comparison; equal verdicts mean the probes do not separate the two ways of judging."
)


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
    mode: str = ABSOLUTE  # how the judge saw the probes: ABSOLUTE (judge_probes) or PAIRWISE (pairwise_probes)

    @property
    def label(self) -> str:
        """The column header: judge, rubric and when the run started (to the second)."""
        when = self.created.replace("T", " ")[:19] if self.created else "date unknown"
        return f"{self.judge}, rubric {self.rubric}, {when}"

    @property
    def trust(self) -> tuple[str, str]:
        """(verdict, sentence) of ``emplifai.probes.trust`` on this run's metrics (``TRUST_RULE``)."""
        return trust_verdict(self.metrics)


def _read_header(path: str | Path) -> EvalLog:
    try:
        return read_eval_log(str(path), header_only=True)
    except FileNotFoundError:
        raise UserError(f"{path}: no such log file") from None
    except Exception as e:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(f"{path}: not a readable Inspect log ({e})") from None


def read_probe_run(path: str | Path) -> ProbeRun:
    """The probe metrics of one judge_probes or pairwise_probes log; a UserError naming the file otherwise."""
    log = _read_header(path)
    task = log.eval.task.split("/")[-1]  # "emplifai/pairwise_probes" when run by registry name
    # Any log with the absolute probe scorer counts as absolute (as before pairwise probes existed).
    mode = PROBE_MODES.get(task, ABSOLUTE)
    scorer = SCORERS[mode]
    scores = [s for s in (log.results.scores if log.results else []) if s.name == scorer]
    if log.status != "success" or not scores:
        raise UserError(f"{path}: not a finished judge_probes or pairwise_probes run (task {task}, "
                        f"status {log.status}, no '{scorer}' metrics)")
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
        # pairwise_probes records no perturber brief: a key it does not write is left out of the
        # comparison of probe sets, not read as "none" (which would differ from a judge_probes
        # run's brief). A judge_probes log without a key is read as "none", as before.
        probe_set={k: md.get(k) for k in PROBE_SET_KEYS if mode == ABSOLUTE or k in md},
        mode=mode,
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
    """A Markdown table, one column per run, with 95% bootstrap intervals, each column's judging
    mode and trust verdict, and (for an absolute and a pairwise run of the same judge on the same
    bases) which way of judging earned the better verdict."""
    if not runs:
        raise UserError("give at least one judge_probes or pairwise_probes log")
    # Numbered, so that two runs of the same judge and rubric started in the same second still differ.
    lines = ["| | " + " | ".join(f"({i}) {r.label}" for i, r in enumerate(runs, start=1)) + " |",
             "|---|" + "---|" * len(runs),
             "| judging | " + " | ".join(r.mode for r in runs) + " |",
             "| trust verdict | " + " | ".join(r.trust[0] for r in runs) + " |"]
    for label, name in rows():
        if all(name not in r.metrics for r in runs):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(r.metrics, name) for r in runs) + " |")
    head = "".join(f"**Warning:** {w}\n\n" for w in run_differences(runs))
    comparisons = mode_comparisons(runs)
    between = "".join(f"**Absolute vs pairwise:** {c}\n\n" for c in comparisons)
    if comparisons:
        between += f"({COMPARE_RULE})\n\n"
    return head + "\n".join(lines) + "\n\n" + between + "\n".join(f"- {n}" for n in _notes(runs)) + "\n"


def _notes(runs: list[ProbeRun]) -> list[str]:
    """What is under the table: the files, each column's trust verdict with its sentence, the rules."""
    notes = [f"({i}): `{r.path}`." for i, r in enumerate(runs, start=1)]
    notes += [f"({i}) trust verdict: **{r.trust[0]}**. {r.trust[1]}" for i, r in enumerate(runs, start=1)]
    notes.append(TRUST_RULE)
    notes.append("Probe accuracy: share of degrading probes scored strictly below their base on every metric the "
                 "probe targets (higher is better). Invariance violation rate: share of padded / injected / "
                 "relabelled dialogues whose scores moved by 1 or more on some metric (lower is better).")
    if any(r.mode == PAIRWISE for r in runs):
        notes.append("Pairwise columns: each probe is judged against its own base dialogue in both orders; a "
                     "degrading probe counts as caught when its base wins on every metric the probe targets in "
                     "both orders, and an invariance probe as a violation when the judge preferred either "
                     "dialogue on any metric in either order (an order-dependent answer included).")
    return notes


def _same_bases(a: ProbeRun, b: ProbeRun) -> bool:
    """Two runs that differ at most in how the judge was asked: judge, rubric, probe kinds, bases, data."""
    def key(r: ProbeRun) -> tuple[Any, ...]:
        return (r.judge, r.rubric, json.dumps(r.probe_set.get("probe_kinds"), default=str), r.n_bases, r.seed,
                r.data_fingerprint)

    # A log without a data fingerprint or a base count cannot show it judged the same bases.
    return key(a) == key(b) and a.data_fingerprint is not None and a.n_bases is not None


def mode_comparisons(runs: list[ProbeRun]) -> list[str]:
    """One plain line per (absolute, pairwise) pair of runs on the same bases (``COMPARE_RULE``)."""
    out: list[str] = []
    numbered = list(enumerate(runs, start=1))
    for i, a in numbered:
        for j, p in numbered:
            if a.mode == ABSOLUTE and p.mode == PAIRWISE and _same_bases(a, p):
                out.append(_compare_line((i, a), (j, p)))
    return out


def _compare_line(absolute: tuple[int, ProbeRun], pairwise: tuple[int, ProbeRun]) -> str:
    (i, a), (j, p) = absolute, pairwise
    va, vp = a.trust[0], p.trust[0]
    head = f"({i}) absolute and ({j}) pairwise, {a.judge} on the same {a.n_bases} bases (seed {a.seed}): "
    missing = [f"({k}) '{v}'" for k, v in ((i, va), (j, vp)) if v not in VERDICT_ORDER]
    if missing:
        return head + f"no comparison: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} no verdict on the judge."
    if va == vp:
        return head + f"both '{va}', so the probes do not separate them."
    better, worse = (ABSOLUTE, PAIRWISE) if VERDICT_ORDER.index(va) < VERDICT_ORDER.index(vp) else (PAIRWISE, ABSOLUTE)
    won, lost = (va, vp) if better == ABSOLUTE else (vp, va)
    return head + (f"{better} judging earned the better verdict ('{won}' against {worse} judging's '{lost}'), "
                   f"so on these probes {better} judging is the more trustworthy for this judge.")


def run_differences(runs: list[ProbeRun]) -> list[str]:
    """One warning per way the runs differ in what they asked: probe set, judging mode, rubric, bases, data.

    Two columns are the same experiment only when all of these agree; a rubric comparison
    (default vs neutral) differs in the rubric on purpose, and a mode comparison (absolute vs
    pairwise) in the judging mode: the warning says so plainly.
    """
    if len(runs) < 2:
        return []

    def per_run(value: Callable[[ProbeRun], Any]) -> str:
        return "; ".join(f"({i}) {value(r)}" for i, r in enumerate(runs, start=1))

    out: list[str] = []
    for key in PROBE_SET_KEYS:
        if len({_comparable(key, r.probe_set[key]) for r in runs if key in r.probe_set}) > 1:
            out.append(f"the runs used different probe sets ({key} differs: "
                       f"{per_run(lambda r, k=key: r.probe_set.get(k, 'not recorded'))}); their figures are over "
                       "different probes.")
            break
    if len({r.mode for r in runs}) > 1:
        out.append(f"the columns differ in judging mode ({per_run(lambda r: r.mode)}): an absolute column scores "
                   "each dialogue alone and compares the scores, a pairwise column asks which of probe and base "
                   "is better, in both orders; a difference between them is the mode's (and the judge's), which "
                   "is what a mode comparison measures.")
    if len({r.rubric for r in runs}) > 1:
        out.append(f"the runs used different rubrics ({per_run(lambda r: r.rubric)}): a difference between the "
                   "columns is the rubric's (and the judge's), which is what a rubric comparison measures.")
    if len({(r.n_bases, r.seed) for r in runs}) > 1:
        out.append(f"the runs judged different base dialogues ({per_run(lambda r: f'{r.n_bases} bases, seed {r.seed}')})"
                   ": their intervals are over different samples.")
    if len({r.data_fingerprint for r in runs}) > 1:
        out.append("the runs were on different data (data fingerprints differ): compare with care.")
    return out


def _comparable(key: str, value: Any) -> str:
    """A probe-set value as compared between runs."""
    if key == "samples_per_kind" and isinstance(value, dict):
        # judge_probes scores each base dialogue as a sample of its own, pairwise_probes shows it
        # beside every probe instead: the probes asked are the same whether or not bases are counted.
        value = {k: v for k, v in value.items() if k != BASE}
    return json.dumps(value, sort_keys=True, default=str)


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
