"""Steps take the few settings they read, not the whole ``Settings``: a topic's settings
(``CapacitySettings`` …) or a small protocol beside the step naming the fields it reads, which
mypy strict checks ``Settings`` against at every call. A step module importing ``Settings`` (or
anything else of ``fraud_detection.config``) fails here unless it is listed below with why it
needs the whole thing."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Protocol

from fraud_detection.config import Settings

STEPS = Path(__file__).resolve().parents[3] / "fraud_detection" / "steps"

NEEDS_THE_WHOLE_SETTINGS = {
    "status.py": "snapshot opens the registry (read_sqlite, Registry) from the whole Settings",
}


def _imports_config(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "fraud_detection.config":
            return True
        if isinstance(node, ast.Import) and any(
            alias.name == "fraud_detection.config" for alias in node.names
        ):
            return True
    return False


def _importing_config() -> set[str]:
    return {path.name for path in sorted(STEPS.glob("*.py")) if _imports_config(path)}


def test_no_step_imports_settings_unless_it_needs_the_whole_thing() -> None:
    unlisted = sorted(_importing_config() - set(NEEDS_THE_WHOLE_SETTINGS))
    assert not unlisted, (
        f"these steps import fraud_detection.config: {unlisted}; type their settings with a "
        "topic's settings (fraud_detection/settings/) or a protocol of the fields they read"
    )


def test_no_step_is_listed_that_no_longer_needs_the_whole_settings() -> None:
    stale = sorted(set(NEEDS_THE_WHOLE_SETTINGS) - _importing_config())
    assert not stale, f"these steps no longer import fraud_detection.config: {stale}"


def test_the_check_finds_an_import_of_settings(tmp_path: Path) -> None:
    planted = tmp_path / "step.py"
    planted.write_text("from fraud_detection.config import Settings\n")
    assert _imports_config(planted)
    planted.write_text("from fraud_detection.settings.capacity import CapacitySettings\n")
    assert not _imports_config(planted)


def _settings_protocols() -> list[type]:
    found: dict[str, type] = {}
    for path in sorted(STEPS.glob("*.py")):
        module = importlib.import_module(f"fraud_detection.steps.{path.stem}")
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and name.endswith("Settings")
                and Protocol in value.__mro__
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return list(found.values())


def _members(protocol: type) -> set[str]:
    """The names a settings protocol lists, its bases' included."""
    return {
        name
        for base in protocol.__mro__
        if base is not Protocol and Protocol in base.__mro__ and base.__name__.endswith("Settings")
        for name in vars(base)
        if not name.startswith("_")
    }


def test_every_settings_protocol_of_the_steps_names_what_settings_has() -> None:
    protocols = _settings_protocols()
    assert len(protocols) >= 10  # the steps' protocols are found at all
    unknown = {
        protocol.__name__: sorted(
            name
            for name in _members(protocol)
            if name not in Settings.model_fields and not hasattr(Settings, name)
        )
        for protocol in protocols
    }
    assert not {name: missing for name, missing in unknown.items() if missing}
    assert all(_members(protocol) for protocol in protocols)  # none is empty
