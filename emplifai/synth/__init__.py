"""SYNTHEMPATHY-style synthetic data in EmplifAI's schema: ``emplifai synth`` (see docs/synth.md).

Stages are Inspect tasks in ``tasks/synth.py``, their checks and filters in
``scorers/synth_checks.py`` and ``scorers/synth_filters.py``; this package holds the driver
(``pipeline``), its records, the output writer, the cost estimate and the real+synthetic mix used
by SFT (``mix``). Near-duplicates and the leak check are core (``emplifai.data.near_duplicates``,
``emplifai.leak``), shared with ``emplifai data leaks`` and the SFT split.
"""
