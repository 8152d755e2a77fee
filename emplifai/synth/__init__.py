"""SYNTHEMPATHY-style synthetic data in EmplifAI's schema: ``emplifai synth`` (see docs/synth.md).

Stages are Inspect tasks in ``tasks/synth.py``; this package holds the driver (``pipeline``), the
filters, near-duplicate detection (``dedup``), the stage scorers, the output writer, the cost
estimate and the real+synthetic mix used by SFT (``mix``).
"""
