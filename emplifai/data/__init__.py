"""EmplifAI-schema data: records, loaders, validation, statistics and the project's sample set."""

from emplifai.data.schema import (
    CANONICAL_COLUMNS,
    OPTIONAL_COLUMNS,
    TURN_COLUMNS,
    DataValidationError,
    DialogueRecord,
    Problem,
)

SAMPLE_PATH = __import__("pathlib").Path(__file__).parent / "sample" / "emplifai_sample_ja.jsonl"

__all__ = [
    "CANONICAL_COLUMNS",
    "OPTIONAL_COLUMNS",
    "TURN_COLUMNS",
    "SAMPLE_PATH",
    "DataValidationError",
    "DialogueRecord",
    "Problem",
]
