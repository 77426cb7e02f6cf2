"""Every change of what is served, signed: by the rule (which rule, which figures) or by a
person (name, note, time) — promotions, rollbacks, registrations, suspensions alike.

The registry moves the alias (under its lock, by compare-and-set); the decision log keeps the
signature beside it. With ``FRAUD_PROMOTION_APPROVAL=required`` a change by hand needs a name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from fraud_detection.core.signatures import AliasChange, ChangeKind, Suspension
from fraud_detection.core.tags import utc_now
from fraud_detection.settings.storage import StorageSettings
from fraud_detection.steps.ports import DecisionWriter


class SignatureRequired(ValueError):
    """A change by hand without a name when the settings require one."""


class DecisionRecord(Protocol):
    """Where signatures are kept (``DecisionLog``, or an in-memory stand-in in tests)."""

    def changes(self) -> Sequence[AliasChange]: ...

    def record(self, change: AliasChange) -> None: ...

    def suspension(self) -> Suspension | None: ...

    def suspend(self, suspension: Suspension) -> None: ...

    def resume(self) -> None: ...


class HandRegistry(DecisionWriter, Protocol):
    """The registry as an operator moves ``champion`` back (``Registry.rollback``)."""

    def rollback(self) -> str: ...


class SignatureRuleSettings(Protocol):
    """Whether every change needs a person's name (``required``) or the rule may sign."""

    @property
    def promotion_approval(self) -> str: ...


class HandChangeSettings(SignatureRuleSettings, Protocol):
    """What a change by hand reads: the signature rule and the alias it moves."""

    @property
    def champion_alias(self) -> str: ...


def require_signature(settings: SignatureRuleSettings, by: str, action: str) -> None:
    """Refuse an unsigned change when every change needs a person's name."""
    if settings.promotion_approval == "required" and not by.strip():
        raise SignatureRequired(
            f"FRAUD_PROMOTION_APPROVAL=required: {action} needs the name of the person who "
            "decides it (--by NAME, and --note to say why)"
        )


def promote_by_hand(
    registry: DecisionWriter,
    log: DecisionRecord,
    settings: HandChangeSettings,
    version: str,
    *,
    by: str,
    note: str,
) -> AliasChange:
    """Move ``champion`` to ``version`` by hand (compare-and-set under the lock), signed."""
    require_signature(settings, by, "promote")
    current = registry.champion()
    before = current.version if current else ""
    registry.promote(version, expected_champion=before or None)
    change = AliasChange(
        utc_now(), settings.champion_alias, before, version, ChangeKind.PROMOTE, by, "", note
    )
    log.record(change)
    return change


def rollback_by_hand(
    registry: HandRegistry, log: DecisionRecord, settings: HandChangeSettings, *, by: str, note: str
) -> AliasChange:
    """Put the previous champion back, signed."""
    require_signature(settings, by, "rollback")
    current = registry.champion()
    restored = registry.rollback()
    change = AliasChange(
        utc_now(),
        settings.champion_alias,
        current.version if current else "",
        restored,
        ChangeKind.ROLLBACK,
        by,
        "",
        note,
    )
    log.record(change)
    return change


def sign_rule_promotion(
    log: DecisionRecord, settings: StorageSettings, before: str | None, after: str, reason: str
) -> AliasChange | None:
    """The gate's own promotion, signed by its rule and figures (nothing when nothing moved)."""
    if not after or after == (before or ""):
        return None
    signed = (settings.champion_alias, before or "", after, ChangeKind.RULE)
    if any((c.alias, c.from_version, c.to_version, c.kind) == signed for c in log.changes()):
        return None  # a retry of the task that signed it: one signature per promotion
    change = AliasChange(
        utc_now(), settings.champion_alias, before or "", after, ChangeKind.RULE, "", reason
    )
    log.record(change)
    return change


def sign_registration(
    log: DecisionRecord, alias: str, version: str, *, by: str, note: str
) -> AliasChange:
    """A model file registered with an alias: who set it and why."""
    change = AliasChange(utc_now(), alias, "", version, ChangeKind.REGISTER, by, "", note)
    log.record(change)
    return change


def suspend(log: DecisionRecord, settings: StorageSettings, *, by: str, note: str) -> Suspension:
    """Stop scoring: the service answers 503 from its next refresh until someone resumes."""
    if not by.strip():
        raise SignatureRequired("suspend needs the name of the person who stops the model (--by)")
    stopped = Suspension(by, note, utc_now())
    log.suspend(stopped)
    log.record(_stop_change(settings, ChangeKind.SUSPEND, by, note, stopped.at))
    return stopped


def resume(log: DecisionRecord, settings: StorageSettings, *, by: str, note: str) -> bool:
    """Let scoring go on; False when it was not suspended."""
    if not by.strip():
        raise SignatureRequired("resume needs the name of the person who restarts the model (--by)")
    if log.suspension() is None:
        return False
    log.resume()
    log.record(_stop_change(settings, ChangeKind.RESUME, by, note, utc_now()))
    return True


def _stop_change(
    settings: StorageSettings, kind: ChangeKind, by: str, note: str, at: str
) -> AliasChange:
    return AliasChange(at, settings.champion_alias, "", "", kind, by, "", note)


def history(log: DecisionRecord) -> list[AliasChange]:
    """Every signed change, newest first."""
    return list(reversed(log.changes()))
