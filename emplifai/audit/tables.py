"""The audit's tables, shared by ``audit.md`` and ``audit.html``: the at-a-glance verdict grid and
verdict table first, then the detail sections, each built by its own named step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from emplifai.audit.analysis import ALL
from emplifai.audit.logs import METRICS

SHORT = {"comprehensibility": "CC", "general_empathy": "GE", "emotion_specific_empathy": "ESE", "consistency": "Cons",
         "fluency": "Flu", "harmlessness": "Harm", "sense_of_security": "Sec", "overall": "Overall"}
MARK = {"replace": "🟢", "assist": "🟡", "do not use": "🔴"}


class Section(NamedTuple):
    id: str
    title: str
    header: list[str]
    rows: list[list[Any]]


def f(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def p_text(p: Any) -> str:
    return "n/a" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}")


def ci(v: Any, low: Any, high: Any) -> str:
    return f"{f(v)} [{f(low)}, {f(high)}]"


def table6_cell(row: dict[str, Any]) -> str:
    """The paper's Table 6 cell: r (p), or, when a side is constant, the constant and the MAD."""
    if row["judge_constant"] is not None:
        return f"judge = {row['judge_constant']:g} (const), MAD {f(row['mad'])}"
    if row["human_constant"] is not None:
        return f"human = {row['human_constant']:g} (const), MAD {f(row['mad'])}"
    if row["pearson_r"] is None:
        return "n/a"
    return f"{row['pearson_r']:.2f} ({p_text(row['pearson_p'])})"


def key_figure(row: dict[str, Any]) -> str:
    """The figure a verdict cell shows: n, and ICC(A,1) and r (or the constant a judge gave)."""
    if row["judge_constant"] is not None:
        return f"n {row['n']} · judge = {row['judge_constant']:g} (const)"
    return f"n {row['n']} · ICC {f(row['icc_a1'])} · r {f(row['pearson_r'])}"


def judges(doc: dict[str, Any]) -> list[str]:
    return sorted({r["judge"] for r in doc["rows"]}, key=lambda j: (j.startswith("panel"), j))


def grid(doc: dict[str, Any], judge: str) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]]]:
    """(candidates with the pooled row last, metrics, {(candidate, metric): row}) of one judge."""
    mine = [r for r in doc["rows"] if r["judge"] == judge]
    cell = {(r["candidate"], r["metric"]): r for r in mine}
    cands = sorted({r["candidate"] for r in mine if r["candidate"] != ALL}) + [ALL]
    metrics = [m for m in METRICS if any((c, m) in cell for c in cands)]
    return cands, metrics, cell


def grid_sections(doc: dict[str, Any]) -> list[Section]:
    """Candidate x metric verdicts per judge (text form; the page colours the same cells)."""
    out = []
    for judge in judges(doc):
        cands, metrics, cell = grid(doc, judge)
        rows = [[c, *[f"{MARK[cell[(c, m)]['verdict']]} **{cell[(c, m)]['verdict']}** · {key_figure(cell[(c, m)])}"
                      if (c, m) in cell else "" for m in metrics]] for c in cands]
        out.append(Section(f"grid-{judge}", f"Verdicts, judge {judge}", ["candidate", *[SHORT[m] for m in metrics]], rows))
    return out


def verdict_section(doc: dict[str, Any]) -> Section:
    """The pooled verdict per (judge, metric): the figures the rules test, and why not 'replace'."""
    rows = [[r["judge"], r["metric"], f"**{r['verdict']}**", "; ".join(r["not_replace_because"]) or "-",
             ", ".join(r["caveats"]) or "-",
             ("passed" if r["alt_test_passed"] else "failed") if r["alt_test_applicable"] else "not applicable",
             f"{f(r['alt_test_winning_rate'])} / {f(r['alt_test_advantage_probability'])}",
             ci(r["icc_a1"], r["icc_a1_ci_low"], r["icc_a1_ci_high"]),
             ci(r["pearson_r"], r["pearson_ci_low"], r["pearson_ci_high"]), f(r["human_alpha"]),
             f(r["judge_modal_share"])]
            for r in doc["rows"] if r["candidate"] == ALL]
    return Section("verdicts", "Verdict per metric (all candidates pooled)",
                   ["judge", "metric", "verdict", "why not replace", "caveats", "alt-test",
                    "winning rate / advantage prob.", "ICC(A,1) [95% CI]", "r [95% CI]", "raters' alpha",
                    "judge modal share"], rows)


def table6_sections(doc: dict[str, Any]) -> list[Section]:
    out = []
    for judge in judges(doc):
        cands, metrics, cell = grid(doc, judge)
        out.append(Section(f"table6-{judge}", f"Table 6 layout, judge {judge}: Pearson r (p) of judge vs human mean",
                           ["candidate", *[SHORT[m] for m in metrics]],
                           [[c, *[table6_cell(cell[(c, m)]) if (c, m) in cell else "" for m in metrics]] for c in cands]))
        out.append(Section(f"means-{judge}", f"Means, judge {judge}: judge / human (bias = judge - human)",
                           ["candidate", *[SHORT[m] for m in metrics]],
                           [[c, *[f"{f(cell[(c, m)]['judge_mean'])} / {f(cell[(c, m)]['human_mean'])}"
                                  if (c, m) in cell else "" for m in metrics]] for c in cands]))
    return out


def reliability_section(doc: dict[str, Any]) -> Section:
    return Section("reliability", "The raters' own reliability: the ceiling (all candidates pooled)",
                   ["judge", "metric", "raters", "dialogues", "human alpha (interval)", "human alpha (ordinal)",
                    "rater vs rest r (mean)", "judge vs the same rest r (mean)"],
                   [[r["judge"], r["metric"], r["n_raters"], r["n"], f(r["human_alpha"]), f(r["human_alpha_ordinal"]),
                     f(r["human_loro_r"]), f(r["judge_loro_r"])] for r in doc["rows"] if r["candidate"] == ALL])


def alt_test_section(doc: dict[str, Any]) -> Section:
    return Section("alt-test", "Alternative annotator test per (candidate, judge, metric) (its rules: Method, alt_test)",
                   ["candidate", "judge", "metric", "applicable", "passed", "raters tested", "items", "winning rate",
                    "advantage prob.", "epsilon", "minimum-data notes"],
                   [[r["candidate"], r["judge"], r["metric"], f(r["alt_test_applicable"]),
                     f(r["alt_test_passed"]) if r["alt_test_applicable"] else "-", r["alt_test_raters_tested"],
                     r["alt_test_n_items"], f(r["alt_test_winning_rate"]), f(r["alt_test_advantage_probability"]),
                     f(r["alt_test_epsilon"]), "; ".join(r["alt_test_notes"]) or "minimum data met"]
                    for r in doc["rows"]])


def agreement_section(doc: dict[str, Any]) -> Section:
    return Section("agreement", "Agreement per (candidate, judge, metric)",
                   ["candidate", "judge", "metric", "n", "judge mean", "human mean", "r", "p", "95% CI", "Spearman",
                    "Kendall", "MAD", "bias", "alpha int.", "alpha ord.", "QWK", "ICC(A,1) [95% CI]",
                    "ICC(A,k) (mean of judge and human)", "verdict"],
                   [[r["candidate"], r["judge"], r["metric"], r["n"], f(r["judge_mean"]), f(r["human_mean"]),
                     f(r["pearson_r"]), p_text(r["pearson_p"]), f"[{f(r['pearson_ci_low'])}, {f(r['pearson_ci_high'])}]",
                     f(r["spearman_rho"]), f(r["kendall_tau"]), f(r["mad"]), f(r["bias"]), f(r["krippendorff_alpha"]),
                     f(r["krippendorff_alpha_ordinal"]), f(r["quadratic_kappa"]),
                     ci(r["icc_a1"], r["icc_a1_ci_low"], r["icc_a1_ci_high"]), f(r["icc_ak"]), r["verdict"]]
                    for r in doc["rows"]])


def length_correlation_section(doc: dict[str, Any]) -> Section:
    return Section("length-correlation", "Length: score-length correlation (Spearman) and partial r given log length",
                   ["candidate", "judge", "metric", "judge rho", "judge p", "human rho", "human p", "r",
                    "partial r given length"],
                   [[r["candidate"], r["judge"], r["metric"], f(r["judge_length_rho"]), p_text(r["judge_length_p"]),
                     f(r["human_length_rho"]), p_text(r["human_length_p"]), f(r["pearson_r"]),
                     f(r["partial_r_given_length"])] for r in doc["rows"] if r["candidate"] == ALL])


def _slope(lc: dict[str, Any]) -> str:
    return "no variance (no test)" if lc["slope_p"] is None else f"{f(lc['slope'])} ({p_text(lc['slope_p'])})"


def length_controlled_section(doc: dict[str, Any]) -> Section:
    length, rows = doc["length"], []
    for entry in length["per_judge"]:
        lc, hlc = entry["length_controlled_judge"], entry["length_controlled_human"]
        for cand, g in (lc or {}).get("groups", {}).items():
            h = (hlc or {}).get("groups", {}).get(cand, {})
            rows.append([entry["judge"], entry["metric"], cand, f(g["raw_mean"]), f(g["lc_mean"]),
                         f"[{f(g['lc_ci_low'])}, {f(g['lc_ci_high'])}]", f(h.get("raw_mean")), f(h.get("lc_mean")),
                         _slope(lc)])
    return Section("length-controlled", (f"Length-controlled means at the human reference length "
                                         f"({length['reference_chars']:.0f} characters: {length['reference_source']})"),
                   ["judge", "metric", "candidate", "judge raw", "judge LC", "judge LC 95% CI", "human raw", "human LC",
                    "slope per log-char (p)"], rows)


def deviation_section(doc: dict[str, Any]) -> Section:
    rows = []
    for entry in doc["length"]["per_judge"]:
        reg = entry["deviation_regression"]
        if reg:
            coef = {c["name"]: c for c in reg["coefficients"]}
            rows.append([entry["judge"], entry["metric"], reg["n"],
                         *[ci(coef[c]["estimate"], coef[c]["ci_low"], coef[c]["ci_high"]) if c in coef
                           else "(no variation)" for c in ("log_chars", "markdown", "politeness")], f(reg["r2"])])
    return Section("deviation-regression", "Regression of judge - human on length and covariates (OLS, HC3; 95% CI)",
                   ["judge", "metric", "n", "log chars", "markdown", "politeness", "R2"], rows)


def max_chars_section(doc: dict[str, Any]) -> Section:
    return Section("max-chars", "max_chars variant vs the free run (same model, same judge)",
                   ["model", "judge", "metric", "max_chars", "judge free", "judge limited", "human free",
                    "human limited", "chars free", "chars limited", "judge diff", "human diff"],
                   [[m["model"], m["judge"], m["metric"], m["max_chars"], f(m["free"]["judge_mean"]),
                     f(m["limited"]["judge_mean"]), f(m["free"]["human_mean"]), f(m["limited"]["human_mean"]),
                     f(m["free"]["mean_chars"], 0), f(m["limited"]["mean_chars"], 0), f(m["judge_difference"]),
                     f(m["human_difference"])] for m in doc["max_chars_vs_free"]])


def panel_sections(doc: dict[str, Any]) -> list[Section]:
    panels = doc["panels"]
    return [
        Section("inter-judge", "Panels: agreement between judges (Krippendorff's alpha, interval)",
                ["log", "metric", "judges", "alpha"],
                [[a["log"], a["metric"], ", ".join(a["judges"]), f(a["inter_judge_alpha"])]
                 for a in panels["inter_judge_alpha"]]),
        Section("self-preference", "Self-preference: own-family minus other candidates (Welch p)",
                ["metric", "judge", "family", "own candidates", "vs other judges", "p", "vs humans", "p"],
                [[s["metric"], s["judge"], s["family"], ", ".join(s["own_candidates"]), f(s.get("vs_judges_difference")),
                  p_text(s.get("vs_judges_p")), f(s.get("vs_humans_difference")), p_text(s.get("vs_humans_p"))]
                 for s in panels["self_preference"]]),
    ]


def probe_sections(doc: dict[str, Any]) -> list[Section]:
    if not doc["probes"]:
        return []
    return [Section("probes", ("The judge's known-answer probes (judge_probes logs; degrading probes should score "
                               "below their base, invariance probes should not move)"),
                    ["judge", "log", "probe accuracy [95% CI]", "invariance violation rate [95% CI]",
                     "degrading / invariance probes", "unscored"],
                    [[p["judge"], p["log"],
                      ci(p.get("probe_accuracy"), p.get("probe_accuracy_ci_low"), p.get("probe_accuracy_ci_high")),
                      ci(p.get("invariance_violation_rate"), p.get("invariance_violation_rate_ci_low"),
                         p.get("invariance_violation_rate_ci_high")),
                      f"{f(p.get('degrading_probes'), 0)} / {f(p.get('invariance_probes'), 0)}", f(p.get("unscored"), 0)]
                     for p in doc["probes"]])]


def _kappa(r: dict[str, Any]) -> str:
    low, high = r["kappa_ci"] if r.get("kappa_ci") else (None, None)
    return "undefined" if r["kappa"] is None else ci(r["kappa"], low, high)


def _agreement(r: dict[str, Any]) -> str:
    low, high = r["agreement_ci"] if r.get("agreement_ci") else (None, None)
    return ci(r["agreement"], low, high)


def pairwise_sections(doc: dict[str, Any]) -> list[Section]:
    """Pairwise judges against people's implied preference, and against the absolute judges."""
    pw = doc.get("pairwise")
    if not pw:
        return []
    cover = Section("pairwise-coverage", "Pairwise logs: which pairs the audit could use",
                    ["pairwise log", "judge", "pairs", "judged", "candidate not in the rated logs",
                     "baseline not in the rated logs", "both found, not both rated", "used", "not judged (why)"],
                    [[c["pairwise_log"], c["judge"], c["pairs"], c["judged"], c["candidate_not_in_logs"],
                      c["baseline_not_in_logs"], c["not_rated"], c["used"],
                      "; ".join(f"{k}: {v}" for k, v in c["not_judged"].items()) or "-"] for c in pw["coverage"]])
    agree = Section("pairwise", f"Pairwise judge vs people's implied preference (tie margin {pw['tie_margin']:g})",
                    ["judge", "metric", "pairs", "agreement [95% CI]", "Cohen's kappa [95% CI]",
                     "decisive agreement (pairs)", "ties: judge / people", "reading"],
                    [[r["judge"], r["metric"], r["n"], _agreement(r), _kappa(r),
                      f"{f(r['decisive_agreement'])} ({r['n_decisive']})",
                      f"{f(r['judge_tie_rate'])} / {f(r['human_tie_rate'])}", r["reading"]] for r in pw["rows"]])
    versus = Section("pairwise-vs-absolute", "Pairwise vs absolute judging on the same pairs (kappa with people's "
                     "implied preference; the absolute judge's preference is the higher of its two scores)",
                     ["pairwise judge", "absolute judge", "metric", "pairs", "kappa pairwise", "kappa absolute",
                      "absolute reading", "difference [95% CI]", "reading"],
                     [[v["pairwise_judge"], v["absolute_judge"], v["metric"], v["difference"]["n"],
                       f(v["difference"]["first_kappa"]), f(v["difference"]["second_kappa"]), v["absolute"]["reading"],
                       ci(v["difference"]["difference"], *(v["difference"]["ci"] or (None, None))),
                       v["difference"]["reading"]] for v in pw["versus_absolute"]])
    return [cover, agree, versus]


DETAIL_STEPS: tuple[Callable[[dict[str, Any]], Section | list[Section]], ...] = (
    table6_sections, reliability_section, alt_test_section, agreement_section, length_correlation_section,
    length_controlled_section, deviation_section, max_chars_section, panel_sections, probe_sections,
    pairwise_sections,
)


def detail_sections(doc: dict[str, Any]) -> list[Section]:
    """Every table below the verdicts, in page order."""
    out: list[Section] = []
    for step in DETAIL_STEPS:
        got = step(doc)
        out.extend(got if isinstance(got, list) else [got])
    return out
