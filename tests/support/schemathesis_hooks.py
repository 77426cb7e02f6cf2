"""schemathesis hooks for the service's API fuzzing (loaded through SCHEMATHESIS_HOOKS).

The served document states "at most one level per one-hot group" exactly, as a ``not`` over
pairs of levels; schemathesis' generator cannot draw from that ``not`` (it declines such schemas),
so the run reads the document without those rules and keeps every drawn record inside them
instead: where a group has several levels set, all but the first are set back to 0. No other
value is touched, so a body that breaks another rule still breaks it.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from fraud_detection.core.contract import GROUPS


def _is_group_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and set(rule) == {"not"}


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    record = raw_schema["components"]["schemas"]["Record"]
    record["allOf"] = [rule for rule in record["allOf"] if not _is_group_rule(rule)]


_SPELLINGS = [[s for c in columns for s in c.spellings] for columns in GROUPS.values()]


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    records = body.get("data") if isinstance(body, dict) else None
    if not isinstance(records, list):
        return body
    for record in records:
        if not isinstance(record, dict):
            continue
        for spellings in _SPELLINGS:
            seen = False
            for spelling in spellings:
                if type(record.get(spelling)) is int and record[spelling] == 1:
                    if seen:
                        record[spelling] = 0
                    seen = True
    return body
