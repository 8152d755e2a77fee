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
