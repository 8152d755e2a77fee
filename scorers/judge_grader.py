"""The grader model of the LLM judges: which model it is, that one is bound at all, and whether
it is asked for schema-constrained output.

The judge is always ``get_model(role="grader")``: bind it with ``--model-role grader=<model>``
(``eval(..., model_roles={"grader": ...})``). Inspect falls back to the candidate model when a
role is unbound, so the judges check the bound roles themselves, at three points:

- ``check_grader_bound(task)`` while Inspect builds a task (``inspect eval``): no grader, one line
  and a non-zero exit before any sample runs. Inspect gives no public way to declare a task's
  required role (``ModelRole(required=True)`` is checked only when a scorer asks for the model),
  and ``inspect eval`` exits 0 when a task errors later, so this is the one place a missing
  grader can stop the command itself;
- ``check_grader()``, a setup solver: stops each sample before any model call (a task object
  built outside Inspect, e.g. ``eval(generation(...), model_roles=...)``, is checked here);
- ``require_grader()`` in the scorer, through Inspect's ``get_model(role=..., required=True)``.
"""

from __future__ import annotations

from logging import getLogger

from inspect_ai.model import Model, get_model, model_roles
from inspect_ai.model._model import active_model  # see check_grader_bound; tests/test_errors.py guards it
from inspect_ai.solver import Generate, Solver, TaskState, solver

from emplifai.errors import PrerequisiteError, UserError

logger = getLogger(__name__)

GRADER_ROLE = "grader"
# structured="auto" sends the JSON schema to these providers (the prefix of the grader's name):
# the ones whose Inspect provider passes `response_schema` on and whose servers honour it. Any
# other provider (hf/ ignores the schema; llama-cpp-python's server rejects json_schema with an
# HTTP 500; providers not listed are unknown) is asked without it. mockllm ignores the schema; it
# is listed so the tests see what a real provider receives. Replies are validated either way.
SCHEMA_PROVIDERS: frozenset[str] = frozenset(
    {
        "openai", "openai-api", "azureai", "anthropic", "google", "vertex", "mistral", "grok", "groq",
        "deepseek", "bedrock", "together", "fireworks", "openrouter", "vllm", "sglang", "ollama",
        "gguf", "mockllm",
    }
)

_warned_same: set[tuple[str, str]] = set()


def no_grader_message(who: str = "The rubric judge") -> str:
    return (
        f"{who} needs a grader model and none is bound: pass one with "
        "`--model-role grader=<provider/model>` (e.g. --model-role grader=google/gemini-2.5-flash), "
        "or model_roles={'grader': ...} in eval(). The judge should not be one of the evaluated models."
    )


def check_grader_bound(task: str) -> None:
    """While Inspect builds ``task`` for an eval (its model is known then, and so are the bound
    roles), ``UserError`` when no grader is bound. A task built outside an eval is not checked here
    (its roles are not known yet): ``check_grader`` checks it when it runs."""
    if active_model() is not None and GRADER_ROLE not in model_roles():
        raise UserError(no_grader_message(f"The {task} task"))


def require_grader() -> Model:
    """The model bound to the "grader" role; ``UserError`` (one line, no traceback) if none is bound.

    Call it inside a running eval (a solver, a scorer). ``get_model(role="grader")`` without
    ``required`` would silently return the candidate model when the role is unbound.
    """
    try:
        return get_model(role=GRADER_ROLE, required=True)
    except PrerequisiteError:
        raise UserError(no_grader_message()) from None


def same_model(a: Model, b: Model) -> bool:
    """True when two models are the same model, also across providers (openrouter/openai/x vs openai/x)."""
    if str(a) == str(b):
        return True
    na, nb = a.name, b.name
    return na == nb or na.endswith("/" + nb) or nb.endswith("/" + na)


def grader_is_candidate(grader: Model) -> bool:
    """Compare the grader with the model under evaluation; warn once per pair when they match."""
    candidate = get_model()
    if not same_model(grader, candidate):
        return False
    pair = (str(grader), str(candidate))
    if pair not in _warned_same:
        _warned_same.add(pair)
        logger.warning(
            f"The grader ({grader}) is the model under evaluation ({candidate}): its scores are "
            "self-judgements and likely biased. Bind a different model with --model-role grader=..."
        )
    return True


@solver
def check_grader() -> Solver:
    """Setup solver: stop the sample before any model call when no grader is bound (and warn
    when the grader is the candidate). Use as ``Task(setup=check_grader(), ...)``."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        grader_is_candidate(require_grader())
        return state

    return solve


def enforces_string_length(grader: Model) -> bool:
    """Whether the grader's provider says it enforces a response schema's ``maxLength`` while
    decoding (the ``gguf/`` provider does; hosted APIs are not assumed to accept the keyword)."""
    return bool(getattr(grader.api, "enforces_string_length", False))


def structured_for(grader: str, structured: str) -> bool:
    """Whether the judge asks the grader named ``grader`` ("provider/model") for JSON-schema output:
    "on", "off", or for "auto" whether the provider (the name before the first "/") is in
    ``SCHEMA_PROVIDERS``."""
    if structured == "auto":
        return grader.split("/", 1)[0] in SCHEMA_PROVIDERS
    return structured == "on"
