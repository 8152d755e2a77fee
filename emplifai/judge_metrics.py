"""The rubric judge's seven metric keys, in the paper's order.

They are the Score value keys, the JSON keys the judge answers with and the names the metrics
appear under in the log. Kept in the core, with no imports, so that readers of logs (the
leaderboard) get them without loading the scorers, which pull in all of Inspect.
"""

METRIC_KEYS: tuple[str, ...] = (
    "comprehensibility",
    "general_empathy",
    "emotion_specific_empathy",
    "consistency",
    "fluency",
    "harmlessness",
    "sense_of_security",
)

# The mean of the seven (of a rubric's keys): first in the log, so inspect view headlines it.
OVERALL = "overall"
# Where a judge's metrics appear in the log (``judge_means``): ONE Inspect score per judge, named
# by the scorer ("rubric_judge"; "rubric_judge1", ... for judges appended by ``inspect score``),
# holding ``overall``, ``overall_stderr``, then each key and ``<key>_stderr``, then
# ``format_failure_rate`` and ``unscored``. evals_df then reads ``score_<scorer>_<key>``.
STDERR_SUFFIX = "_stderr"


def stderr_name(key: str) -> str:
    """The log's name of the standard error of metric ``key``'s mean."""
    return f"{key}{STDERR_SUFFIX}"
