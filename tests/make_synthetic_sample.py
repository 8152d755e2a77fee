"""Regenerate the bundled synthetic sample (emplifai/synth/sample/synthetic_sample_ja.jsonl).

    PYTHONPATH=. python -m tests.make_synthetic_sample            # rewrites the bundled file
    PYTHONPATH=. python -m tests.make_synthetic_sample out.jsonl  # writes elsewhere

It runs ``emplifai synth``'s pipeline with the scripted mockllm stages of tests/synth_script.py
(every text in them written by this project; a few seconds, no model) and ``balance="none"``, so
that the sample keeps both warm joy dialogues and the warm fear one: three rows, enough for the
mix's smoke config and its tests. The only change to the pipeline's output: ``synth_logs`` keep
the log file names, not the temporary folder they were written to.
tests/test_synth_pipeline.py checks that the bundled file is what this produces.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from emplifai.synth.mix import SYNTHETIC_SAMPLE_PATH
from emplifai.synth.pipeline import SynthConfig, run_synth
from tests import synth_script as S


def sample_rows() -> list[dict[str, Any]]:
    """The rows a scripted run writes to synthetic.jsonl, log paths cut to file names."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = SynthConfig(emotions=S.EMOTIONS, per_emotion=S.K, dialogues=S.M, seed=S.SEED, out=Path(tmp),
                          cache=False, balance="none")
        run_synth(cfg, S.generator_model(), S.judge_model(), display="none", echo=lambda _: None)
        text = (Path(tmp) / "synthetic.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    for row in rows:
        row["synth_logs"] = {k: Path(v).name for k, v in row["synth_logs"].items()}
    return rows


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else SYNTHETIC_SAMPLE_PATH
    rows = sample_rows()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} dialogues -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
