"""SYNTHEMPATHY-style synthetic data in EmplifAI's schema: ``emplifai synth`` (see docs/synth.md).

Stages are Inspect tasks in ``tasks/synth.py``, their checks and filters in
``scorers/synth_checks.py`` and ``scorers/synth_filters.py``; this package holds the driver
(``pipeline``), its records, near-duplicate detection (``dedup``), the output writer, the cost
estimate and the real+synthetic mix used by SFT (``mix``).
"""
