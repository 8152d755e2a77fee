"""emplifai.solvers: prompts and solvers (re-exports)."""

from emplifai.solvers.generation_prompt import PROMPT_VERSION as GENERATION_PROMPT_VERSION
from emplifai.solvers.generation_prompt import generation_messages, reference_completion, reference_replay

__all__ = ["GENERATION_PROMPT_VERSION", "generation_messages", "reference_completion", "reference_replay"]
