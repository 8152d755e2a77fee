"""Inspect entry point: makes ``inspect eval emplifai/emotion`` (and the other tasks) resolvable."""

import emplifai.providers  # noqa: F401,E402  (registers the gguf/ model provider)
import emplifai.scorers  # noqa: F401,E402  (registers bertscore_label, fasttext_label, ... for `inspect score`)
from emplifai.tasks.emotion import emotion  # noqa: F401
from emplifai.tasks.generation import generation  # noqa: F401
from emplifai.tasks.judge_probes import judge_probes  # noqa: F401
from emplifai.tasks.pairwise import pairwise  # noqa: F401
from emplifai.tasks.pairwise_probes import pairwise_probes  # noqa: F401
from emplifai.tasks.synth import synth_brainstorm, synth_dialogue, synth_rewrite  # noqa: F401
