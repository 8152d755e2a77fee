"""Known-answer probes of a judge: probe construction, the trust verdict, reports (``emplifai probes``, docs/probes.md)."""
