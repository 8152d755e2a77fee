"""Solver of the structured dialogue variant (``-T dialogue_format=structured``).

Generates with the dialogue JSON schema as ``response_schema`` (providers that honour it enforce
the shape; the others get the same request in the brief), reads the reply with
``parse_structured`` and, when the four turns pass the dialogue checks, rewrites the output as the
canonical four labelled lines, so the judge, the length scorer and the leaderboard read it exactly
like a free-format dialogue. The raw reply is kept in the sample metadata. A reply that is not a
usable dialogue is left as it was, so the judge scores it as a format failure (1 on every metric,
no judge call), and the structured reason is kept in ``structured_format_failure``.
"""

from __future__ import annotations

from inspect_ai.model import ModelOutput
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.dialogue_format import FormatFailure, format_dialogue
from emplifai.dialogue_structured import dialogue_schema, parse_structured


@solver
def structured_dialogue(language: str = "ja") -> Solver:
    """Generate the dialogue as a JSON object and hand on the four turns in the canonical format."""
    schema = dialogue_schema()

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state = await generate(state, response_schema=schema)
        raw = state.output.completion
        parsed = parse_structured(raw, language)
        state.metadata["dialogue_format"] = "structured"
        state.metadata["structured_raw"] = raw
        if isinstance(parsed, FormatFailure):
            state.metadata["structured_format_failure"] = parsed.reason
            return state
        try:
            content = format_dialogue(parsed, language)
        except ValueError as exc:  # a turn with a line that would read as a speaker label
            state.metadata["structured_format_failure"] = str(exc)
            return state
        output = ModelOutput.from_content(model=state.output.model, content=content)
        output.usage = state.output.usage
        output.time = state.output.time
        # The transcript keeps the JSON the model wrote; the scorers read state.output.
        state.output = output
        return state

    return solve
