"""Inspect entry point: makes ``inspect eval emplifai/emotion`` (and the other tasks) resolvable."""

from emplifai.tasks.emotion import emotion  # noqa: F401
from emplifai.tasks.generation import generation  # noqa: F401
