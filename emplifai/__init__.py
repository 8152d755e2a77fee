"""emplifai-bench: Inspect benchmark harness for empathetic dialogue in medical settings."""

__version__ = "0.1.0"
