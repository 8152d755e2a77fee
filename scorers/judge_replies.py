"""The audit's reader of raw judge replies in a logged sample.

The judge stores each reply once per call: in the log's model event for a call made in that run,
in ``metadata.calls[i].reply`` of the Score for a reply served from the verdict cache (no model
event exists then). ``judge_replies(sample)`` gives every raw reply of a sample either way.
"""

from __future__ import annotations

import hashlib

from inspect_ai.log import EvalSample


def reply_sha256(text: str) -> str:
    """The digest a Score's ``calls`` use to name a reply."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def judge_replies(sample: EvalSample, scorer_name: str = "rubric_judge") -> dict[str, str]:
    """Every raw judge reply of a logged sample, by the ``reply_sha256`` its Score's ``calls`` name.

    Replies of calls made in that run are read from the sample's model events; replies served from
    the verdict cache from the Score metadata. A call whose reply is found nowhere is missing from
    the result (an audit can compare the keys with ``calls``).
    """
    score = (sample.scores or {}).get(scorer_name)
    calls = (score.metadata or {}).get("calls", []) if score is not None else []
    wanted = {c["reply_sha256"] for c in calls}
    found = {c["reply_sha256"]: c["reply"] for c in calls if "reply" in c}
    for event in sample.events:
        if event.event == "model" and event.output is not None:
            text = event.output.completion
            digest = reply_sha256(text)
            if digest in wanted:
                found.setdefault(digest, text)
    return found
