"""The judge audit: rating sheets from generation logs, validated human ratings, and the report
that says per metric whether the judge can replace the raters (``emplifai audit``, docs/audit.md).
The statistics themselves live in ``emplifai.scorers.agreement``."""
