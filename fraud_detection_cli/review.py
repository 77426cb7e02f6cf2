"""The commands of the person in charge: answer a held month, move or stop the model (each
change signed), read the history of what was served and any version's model card."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from fraud_detection.adapters.registry import Registry
    from fraud_detection.config import Settings
    from fraud_detection.steps.review import Pending

    RegistryOpener = Callable[[Settings, str], Registry]

By = Annotated[str, typer.Option("--by", help="Your name: the change is signed with it")]
Note = Annotated[str, typer.Option("--note", help="Why: kept with the change")]


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)


def _fail(message: str) -> NoReturn:
    _console(stderr=True).print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=1)


def _refusals() -> tuple[type[Exception], ...]:
    """The failures a command foresees: a refused change, an unsigned one, no such month."""
    from fraud_detection.adapters.registry import RegistryError
    from fraud_detection.steps.review import ReviewError
    from fraud_detection.steps.signing import SignatureRequired

    return (RegistryError, ReviewError, SignatureRequired)


_opener: list[RegistryOpener] = []  # set by add_commands: the registry with the lock


def add_commands(app: typer.Typer, open_registry: RegistryOpener) -> None:
    """Add the review commands to ``app``; ``open_registry`` takes the promotion lock."""
    _opener[:] = [open_registry]
    app.command("review")(review_month)
    for command in (promote, rollback, suspend, resume, history, card):
        app.command()(command)


def review_month(
    month: Annotated[str, typer.Argument(help="The held month, YYYY-MM")],
    by: By,
    approve: Annotated[bool, typer.Option("--approve", help="Serve the held version")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Keep the champion")] = False,
    note: Note = "",
) -> None:
    """Answer a month held for review: --approve serves its version, --reject keeps the champion."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps import model_card, review

    if approve == reject:
        _fail("say --approve or --reject")
    settings = get_settings()
    log = DecisionLog(settings)
    try:
        registry = _opener[0](settings, "review")
        done = review.answer(registry, log, settings, month, review.ReviewAnswer(approve, by, note))
        if done.change is not None:
            model_card.publish_card(registry, log, settings, done.version)
    except _refusals() as exc:
        _fail(str(exc))
    _console().print(
        f"{month} {done.answer} by {by}: champion is version {done.champion or '(none)'}"
    )


def promote(
    version: Annotated[str, typer.Argument(help="Version to make champion")],
    by: By = "",
    note: Note = "",
) -> None:
    """Move the champion alias to a version by hand (signed with --by and --note)."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps import model_card, signing

    settings = get_settings()
    log = DecisionLog(settings)
    try:
        signing.require_signature(settings, by, "promote")
        registry = _opener[0](settings, "promote")
        signing.promote_by_hand(registry, log, settings, version, by=by, note=note)
        model_card.publish_card(registry, log, settings, version)
    except _refusals() as exc:
        _fail(str(exc))
    _console().print(f"champion → version {version}")


def rollback(by: By = "", note: Note = "") -> None:
    """Point the champion alias back at the version it replaced (signed with --by and --note)."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps import signing

    settings = get_settings()
    try:
        signing.require_signature(settings, by, "rollback")
        registry = _opener[0](settings, "rollback")
        change = signing.rollback_by_hand(
            registry, DecisionLog(settings), settings, by=by, note=note
        )
    except _refusals() as exc:
        _fail(str(exc))
    _console().print(f"champion rolled back to version {change.to_version}")


def suspend(by: By, note: Note = "") -> None:
    """Stop the model being used: the service answers every scoring request with 503."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps import signing

    settings = get_settings()
    try:
        stopped = signing.suspend(DecisionLog(settings), settings, by=by, note=note)
    except _refusals() as exc:
        _fail(str(exc))
    _console().print(
        f"{stopped.message} (the service stops within {settings.refresh_interval_s:g} s)"
    )


def resume(by: By, note: Note = "") -> None:
    """Let the service score again after a suspension."""
    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps import signing

    settings = get_settings()
    try:
        lifted = signing.resume(DecisionLog(settings), settings, by=by, note=note)
    except _refusals() as exc:
        _fail(str(exc))
    _console().print("scoring resumed" if lifted else "scoring was not suspended")


def history(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every change of what is served, newest first: when, from which version to which, by
    whom or by which rule, why."""
    from rich.table import Table

    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.config import get_settings
    from fraud_detection.steps.signing import history as signed

    changes = signed(DecisionLog(get_settings()))
    console = _console()
    if as_json:
        console.print_json(json.dumps([c.as_dict() for c in changes]))
        return
    if not changes:
        console.print("no change recorded yet")
        return
    table = Table("when (UTC)", "change", "from", "to", "by", "why")
    for c in changes:
        why = c.note or c.rule
        table.add_row(
            c.at, c.kind, c.from_version or "–", c.to_version or "–", c.signed_by, why[:300]
        )
    console.print(table)


def card(
    version: Annotated[str, typer.Argument(help="Version number")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """A version's model card: use, data, recipe, metrics, groups, review, limits."""
    from rich.markdown import Markdown

    from fraud_detection.adapters.decision_log import DecisionLog
    from fraud_detection.adapters.registry import Registry
    from fraud_detection.config import get_settings
    from fraud_detection.steps.model_card import build_card

    settings = get_settings()
    registry = Registry(settings)
    if version not in {v.version for v in registry.versions()}:
        _fail(f"{settings.model_name} has no version {version} (see `fraud-detection status`)")
    built = build_card(registry, DecisionLog(settings), settings, version)
    if as_json:
        _console().print_json(json.dumps(built.as_dict(), default=str))
        return
    _console().print(Markdown(built.markdown()))


def awaiting_review(settings: Settings) -> list[Pending]:
    """Held months nobody has answered (for ``status``)."""
    from fraud_detection.adapters.registry import Registry
    from fraud_detection.steps.review import pending

    return pending(Registry(settings))


def review_table(waiting: list[Pending]) -> Table:
    from rich.table import Table

    table = Table("month", "version", "held because", title="Awaiting review (`review MONTH`)")
    for held in waiting:
        table.add_row(held.month, held.version, held.reason[-300:])
    return table
