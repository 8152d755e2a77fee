"""The probe task's solver: no candidate model; each sample's output is a fixed dialogue text
(a base, a hand-written or automatic probe) or, for semantic probes on user data, the perturber's
rewrite of the base."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant, ModelOutput
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.dialogue_format import format_dialogue
from emplifai.solvers.probe_perturber import perturb, require_perturber

PROBE_ERROR = "probe_error"
PROVENANCE = "probe_provenance"


@solver
def check_perturber() -> Solver:
    """Setup solver: a sample that needs the perturber stops before any call when none is bound."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.metadata.get("perturb"):
            require_perturber()
        return state

    return solve


@solver
def probe_replay() -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        md = state.metadata
        text = md.get("replay_text")
        source = "replay"
        if md.get("perturb"):
            base = tuple(md["base_turns"])
            turns, provenance = await perturb(
                md["probe_kind"], (base[0], base[1], base[2], base[3]), emotion=md["emotion"],
                situation=md["situation"], language=md["language"], probe_emotion=md.get("probe_emotion"),
            )
            md[PROVENANCE] = provenance
            source = provenance["perturber_model"]
            if turns is None:
                md[PROBE_ERROR] = f"the perturber gave no usable rewrite in {len(provenance['attempts'])} replies"
                text = ""
            else:
                text = format_dialogue(turns, md["language"])
        state.output = ModelOutput.from_content(model=source, content=text)
        if text:
            state.messages.append(ChatMessageAssistant(content=text, model=source, source="generate"))
        return state

    return solve
