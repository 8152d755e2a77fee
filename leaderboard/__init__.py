"""emplifai.leaderboard: boards with uncertainty and honest ranks, built from Inspect logs.

from emplifai.leaderboard import write_leaderboard
paths = write_leaderboard("logs", "out/leaderboard")   # {"markdown", "csv", "json", "html"}
"""

from emplifai.leaderboard.write import FILE_NAMES, build, write_leaderboard

__all__ = ["FILE_NAMES", "build", "write_leaderboard"]
