"""SIMULATED audit data with planted properties, for the docs' worked example and the tests.

Nothing here is human data. ``simulate`` runs the real generation task offline: scripted
``mockllm`` candidates write dialogues of planted lengths, two scripted ``mockllm`` graders score
them with planted behaviour, rating sheets are written in the alt-test design, and simulated raters
fill them in. Every dialogue has a latent quality per metric; a simulated rater's score is that
quality plus noise (sd 0.5, so the raters agree at alpha about 0.7, above the 0.667 floor that
``replace`` needs), rounded and clipped to 1..5. What is planted, per metric, for judge A:

- comprehensibility, consistency, fluency, harmlessness, sense_of_security: the judge reads the
  latent quality with less noise than a rater (sd 0.3): it should pass the alt-test;
- general_empathy: the same judge adds 1.5 x log(reply length / the human reference length): a length bias
  that the length controls should recover (slope about 1.5) and that should fail the alt-test;
- emotion_specific_empathy: the judge answers at random (1..5): it should fail.

Judge B scores every metric like judge A's good metrics, plus 0.5 on the dialogues of
``mockllm/verbose`` (both of its runs): a planted self-preference, found when B and
``mockllm/verbose`` are declared one family (``--family mockllm/sim-judge-b=sim mockllm/verbose=sim``).
A and B on the same logs form a panel. A pairwise run (``pairwise/``) compares ``concise``'s
dialogues with ``cold``'s, judged by ``mockllm/sim-judge-a`` in both orders: per metric it prefers
the dialogue of higher latent quality when the two differ by more than ``PAIRWISE_TIE`` after
noise (sd 0.3 per order), also on emotion-specific empathy, where the same judge scoring absolutely
answers at random: there the pairwise judge should agree with the raters and the absolute one not.
Candidates: ``concise``
(about 70 characters per reply), ``verbose`` (about 300), ``cold`` (about 120, lower quality), and
``verbose`` again with ``-T max_chars=120`` (about 110): the max_chars-vs-free comparison.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emplifai.judge_metrics import METRIC_KEYS

JUDGE_A = "mockllm/sim-judge-a"
JUDGE_B = "mockllm/sim-judge-b"
RATER_NOISE = 0.5
JUDGE_NOISE = 0.3
SELF_PREFERENCE = 0.5  # judge B's planted bonus for its own "family" (mockllm/verbose)
FAMILIES = ("mockllm/sim-judge-b=sim", "mockllm/verbose=sim")
LENGTH_BIAS = 1.5
PAIRWISE_TIE = 0.25  # the simulated pairwise judge's "tie" band on the latent quality difference
PAIRWISE = ("concise", "cold")  # (candidate, baseline) of the simulated pairwise run
LENGTH_REF = 72.0  # about the geometric mean reply length of the bundled sample's own dialogues
# candidate -> (model, centre chars per reply, quality offset, task args)
CANDIDATES: dict[str, tuple[str, float, float, dict[str, Any]]] = {
    "concise": ("mockllm/concise", 70.0, 0.3, {}),
    "verbose": ("mockllm/verbose", 300.0, 0.0, {}),
    "cold": ("mockllm/cold", 120.0, -1.0, {}),
    "verbose-limited": ("mockllm/verbose", 110.0, -0.1, {"max_chars": 120}),
}
_FILLER = ("お話ししてくださってありがとうございます。", "それは本当につらかったですね。", "不安になるのは自然なことです。",
           "一人で抱えなくて大丈夫ですよ。", "少しずつ一緒に考えていきましょう。", "気持ちを言葉にしてくれてうれしいです。",
           "今日はゆっくり休んでくださいね。", "焦らなくていいと思います。")


# The opaque tag that opens a simulated dialogue's first reply: the scripted judges find what was
# planted for a dialogue by it (a candidate name would unblind the sheets).
_TAG = re.compile(r"（(sim-[0-9a-f]{10})）")


def _rng(*parts: Any) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _reply(target: int, tag: str, rng: np.random.Generator) -> str:
    text = f"（{tag}）"
    while len(text) < target:
        text += _FILLER[int(rng.integers(len(_FILLER)))]
    return text[:max(target, len(tag) + 3)]


def plant(seed: int, situation_id: str, candidate: str, length_ref: float = LENGTH_REF) -> dict[str, Any]:
    """The latent quality, the replies and the judges' scores of one dialogue."""
    _, centre, offset, _ = CANDIDATES[candidate]
    rng = _rng(seed, situation_id, candidate)
    base = 3.0 + offset + rng.normal(0, 0.6)
    quality = {m: float(base + rng.normal(0, 0.5)) for m in METRIC_KEYS}
    log_len = math.log(centre) + rng.normal(0, 0.45)  # both replies of a dialogue about as long
    chars = [int(max(20, round(math.exp(log_len + rng.normal(0, 0.1))))) for _ in range(2)]
    # An opaque tag the scripted graders find the dialogue by (a candidate name would unblind the sheets).
    tag = "sim-" + hashlib.sha256(f"{candidate}|{situation_id}|{seed}".encode()).hexdigest()[:10]
    replies = (_reply(chars[0], tag, rng), _reply(chars[1], tag + "-2", rng))
    mean_len = float(np.mean([len(r) for r in replies]))

    def judged(q: float) -> int:
        return int(np.clip(math.floor(q + rng.normal(0, JUDGE_NOISE) + 0.5), 1, 5))

    judge_a = {}
    for m, q in quality.items():
        if m == "emotion_specific_empathy":
            judge_a[m] = int(rng.integers(1, 6))
        elif m == "general_empathy":
            judge_a[m] = judged(q + LENGTH_BIAS * math.log(mean_len / length_ref))
        else:
            judge_a[m] = judged(q)
    bonus = SELF_PREFERENCE if CANDIDATES[candidate][0] == "mockllm/verbose" else 0.0
    judge_b = {m: judged(q + bonus) for m, q in quality.items()}
    return {"quality": quality, "replies": replies, "judge": {JUDGE_A: judge_a, JUDGE_B: judge_b}}


def rater_score(seed: int, log_candidate: str, situation_id: str, rater: str, metric: str, quality: float) -> int:
    rng = _rng(seed, log_candidate, situation_id, rater, metric)
    return int(np.clip(math.floor(quality + rng.normal(0, RATER_NOISE) + 0.5), 1, 5))


def check_simulation(n: int, n_raters: int) -> None:
    """Refuse numbers the simulated alt-test design cannot meet, before any run starts (one line, the flag)."""
    from emplifai.errors import UserError

    if n < 1:
        raise UserError(f"--n {n}: must be >= 1")
    if n_raters < 3:
        raise UserError(f"--raters {n_raters}: must be >= 3 (every simulated dialogue goes to 3 raters)")
    per_rater = len(CANDIDATES) * n * 3 // n_raters
    if per_rater < 30:
        raise UserError(f"--raters {n_raters}: {len(CANDIDATES)} x {n} dialogues x 3 raters leave {per_rater} per rater, "
                        f"below the alt-test's 30; use at most {max(3, len(CANDIDATES) * n * 3 // 30)} raters or a "
                        "larger --n")


def _usage(out: Any) -> Any:
    from inspect_ai.model import ModelUsage

    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tiktoken download
    return out


def simulate(out: str | Path, *, seed: int = 7, n: int = 40, n_raters: int = 4) -> dict[str, Path]:
    """Write SIMULATED logs, sheets, key and ratings under ``out``; returns their paths."""
    check_simulation(n, n_raters)
    from inspect_ai import eval as inspect_eval
    from inspect_ai import score as inspect_score
    from inspect_ai.log import write_eval_log
    from inspect_ai.model import ModelOutput, get_model

    from emplifai.audit.logs import read_audit_logs
    from emplifai.audit.sheets import write_sheets
    from emplifai.data.loaders import load_dialogues
    from emplifai.scorers.rubric_judge import rubric_judge
    from emplifai.tasks.generation import generation
    from emplifai.tasks.pairwise import pairwise

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    log_dir = root / "logs"
    bundled = load_dialogues(None)
    records = {r.situation: r.situation_id for r in bundled}
    # The judge's length bias is zero at the humans' own reply length, so length-controlled judge
    # means should land on the human means.
    length_ref = math.exp(float(np.mean([math.log(len(t)) for r in bundled for t in (r.supporter_1, r.supporter_2)])))
    planted: dict[tuple[str, str], dict[str, Any]] = {}
    by_tag: dict[str, dict[str, Any]] = {}  # the opaque tag in a dialogue -> what was planted for it
    written: dict[str, str] = {}  # candidate -> its log file

    def candidate_fn(name: str) -> Any:
        def generate(messages: Any, tools: Any, tool_choice: Any, config: Any) -> Any:
            prompt = messages[-1].text
            [sid] = [s for text, s in records.items() if text in prompt]
            p = planted.setdefault((name, sid), plant(seed, sid, name, length_ref))
            by_tag[_TAG.findall(p["replies"][0])[0]] = p | {"tag": f"{name}|{sid}"}
            text = f"患者：少し聞いてもらえますか。\n支援者：{p['replies'][0]}\n患者：ありがとうございます。\n支援者：{p['replies'][1]}"
            return _usage(ModelOutput.from_content(CANDIDATES[name][0], text))

        return generate

    def pairwise_fn(messages: Any, tools: Any, tool_choice: Any, config: Any) -> Any:
        prompt = "\n".join(m.text for m in messages if m.role == "user")
        a, b = (by_tag[t] for t in _TAG.findall(prompt))  # fence A, then fence B
        rng = _rng(seed, "pairwise", a["tag"], b["tag"])
        body = {}
        for m in METRIC_KEYS:
            diff = a["quality"][m] - b["quality"][m] + rng.normal(0, JUDGE_NOISE)
            pick = "A" if diff > PAIRWISE_TIE else "B" if diff < -PAIRWISE_TIE else "tie"
            body[m] = {"rationale": "simulated", "preferred": pick}
        return _usage(ModelOutput.from_content(JUDGE_A, json.dumps(body, ensure_ascii=False)))

    def grader_fn(judge: str) -> Any:
        def generate(messages: Any, tools: Any, tool_choice: Any, config: Any) -> Any:
            prompt = "\n".join(m.text for m in messages if m.role == "user")
            [tag] = _TAG.findall(prompt)  # the one dialogue being scored
            scores = by_tag[tag]["judge"][judge]
            body = {m: {"rationale": "simulated", "score": s} for m, s in scores.items()}
            return _usage(ModelOutput.from_content(judge, json.dumps(body, ensure_ascii=False)))

        return generate

    previous = os.environ.get("INSPECT_CACHE_DIR")
    os.environ["INSPECT_CACHE_DIR"] = str(root / ".judge-cache")  # planted scores, never an old run's
    try:
        for name, (model, _, _, args) in CANDIDATES.items():
            [log] = inspect_eval(
                generation(n=n, **args), model=get_model(model, custom_outputs=candidate_fn(name)),
                model_roles={"grader": get_model(JUDGE_A, custom_outputs=grader_fn(JUDGE_A))},
                log_dir=str(log_dir), display="none",
            )
            if log.status != "success":
                raise RuntimeError(f"simulated run {name} failed: {log.error}")
            # Judge B appended to the same log, as `inspect score --action append` would.
            log = inspect_score(log, rubric_judge(), action="append", display="none",
                                model_roles={"grader": get_model(JUDGE_B, custom_outputs=grader_fn(JUDGE_B))})
            write_eval_log(log)
            written[name] = log.location
        [pair_log] = inspect_eval(
            pairwise(n=n, candidate_log=written[PAIRWISE[0]], baseline=written[PAIRWISE[1]]), model="none/none",
            model_roles={"grader": get_model(JUDGE_A, custom_outputs=pairwise_fn)},
            log_dir=str(root / "pairwise"), display="none",
        )
        if pair_log.status != "success":
            raise RuntimeError(f"simulated pairwise run failed: {pair_log.error}")
    finally:
        if previous is None:
            os.environ.pop("INSPECT_CACHE_DIR", None)
        else:
            os.environ["INSPECT_CACHE_DIR"] = previous

    logs = read_audit_logs([str(log_dir)])
    key = root / "key.csv"
    write_sheets(logs, root / "sheets", key, design="alt-test", n_raters=n_raters, seed=seed)
    template = pd.read_csv(root / "sheets" / "ratings_template.csv", dtype=str, keep_default_na=False)
    key_frame = pd.read_csv(key, dtype=str).set_index("item_id")
    cand_of_log = {name: info for name, info in logs.logs.items()}
    name_of = {}
    for log_name, info in cand_of_log.items():
        args = info["task_args"]
        name_of[log_name] = next(k for k, (m, _, _, a) in CANDIDATES.items()
                                 if m == info["model"] and a.get("max_chars") == args.get("max_chars"))
    scores = []
    for row in template.itertuples():
        k = key_frame.loc[row.item_id]
        cname = name_of[k["log"]]
        q = planted[(cname, k["sample_id"])]["quality"][row.metric]
        scores.append(rater_score(seed, cname, k["sample_id"], row.rater_id, row.metric, q))
    ratings = template.assign(score=scores, note="SIMULATED ratings, not human data")
    ratings_path = root / "simulated_ratings.csv"
    ratings.to_csv(ratings_path, index=False)
    (root / "README.txt").write_text(
        "Everything in this folder is SIMULATED by `emplifai audit simulate` (emplifai/audit/simulate.py):\n"
        "scripted candidates, scripted judges with planted behaviour, simulated raters. Not human data.\n",
        encoding="utf-8")
    return {"logs": log_dir, "sheets": root / "sheets", "key": key, "ratings": ratings_path,
            "pairwise": root / "pairwise"}
