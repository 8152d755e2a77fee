"""A config's `env:` block is in the environment before any hub library is imported, so
`HF_HUB_OFFLINE` set there really takes effect (huggingface_hub reads it once, at import)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SMOKE = Path(__file__).parent.parent / "training" / "configs" / "smoke-cpu-smollm2.yaml"

# What training/sft.py does at start-up, in a fresh interpreter whose environment has no HF_HUB_OFFLINE.
SCRIPT = """
import sys
from emplifai.training import sft
assert "huggingface_hub" not in sys.modules, "importing the SFT script imported the hub"
sft.parse_args(["--config", sys.argv[1]])
import huggingface_hub.constants as c
print("HF_HUB_OFFLINE", c.HF_HUB_OFFLINE)
"""


def test_env_block_reaches_huggingface_hub(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    text = SMOKE.read_text(encoding="utf-8")
    assert 'HF_HUB_OFFLINE: "1"' in text  # the smoke config sets it through env:
    cfg.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE"))}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(cfg)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HF_HUB_OFFLINE True" in done.stdout


def test_the_subprocess_environment_is_really_without_it() -> None:
    # Control: the same clean environment without the config gives False, so the test above can fail.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE"))}
    done = subprocess.run(
        [sys.executable, "-c", "import huggingface_hub.constants as c; print('HF_HUB_OFFLINE', c.HF_HUB_OFFLINE)"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HF_HUB_OFFLINE False" in done.stdout


def test_the_config_is_read_once(monkeypatch) -> None:
    import yaml

    from emplifai.training.sft import parse_args

    reads: list[str] = []
    real = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: reads.append(text) or real(text))
    script, train, _ = parse_args(["--config", str(SMOKE)])
    assert len(reads) == 1  # env:, the gradient-accumulation check and TRL's parser share one read
    assert script.global_batch_size == 1 and train.max_steps == 2  # the file's values reached the parser
