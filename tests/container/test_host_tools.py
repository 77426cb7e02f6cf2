"""The programs the tier checks before its first test: each belongs to the Debian package its
report names, and one that cannot be had stops the tier once, before any test, naming it."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.containers.engine import PROJECT, VENV_BIN, needed_programs

pytestmark = pytest.mark.container


def _owner(path: str) -> str:
    """The Debian package that installed a file: dpkg records /bin/tar, not /usr/bin/tar, and
    not the alternatives' links (/usr/sbin/iptables → … → xtables-nft-multi)."""
    for candidate in dict.fromkeys([path, path.removeprefix("/usr"), os.path.realpath(path)]):
        found = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.split(":", 1)[0]
    raise AssertionError(f"no Debian package owns {path}")


def test_each_program_belongs_to_the_package_its_report_names(
    host_programs: dict[str, str],
) -> None:
    tools = {tool.name: tool for tool in needed_programs()}
    assert {"podman", "runc", "catatonit", "debootstrap", "iptables"} <= set(tools)
    for name, path in host_programs.items():
        assert path, f"{name} was not found after the tier's set-up"
        assert _owner(path) == tools[name].package, (name, path)


def test_a_program_apt_cannot_install_stops_the_tier_once_before_its_first_test() -> None:
    # Given no podman, debootstrap or apt-get on $PATH (a machine that is not Debian, say)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PATH"] = str(VENV_BIN)
    tier = subprocess.run(
        [str(VENV_BIN / "pytest"), "-p", "no:cacheprovider", "tests/container/test_kube.py"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=env,
        timeout=600,
    )
    output = tier.stdout + tier.stderr
    assert output.count("podman (Debian package podman)") == 1, output[-3000:]
    assert "debootstrap (Debian package debootstrap)" in output
    if os.geteuid() == 0:
        # Then, as root, apt is tried, and the session ends before any test, exit status 1
        assert tier.returncode == 1, output[-3000:]
        assert "container tier cannot start" in output and "apt-get failed" in output
        assert "no tests ran" in output and "ERROR" not in output
    else:
        # Then, not root, the engine's tests are skipped saying why
        assert tier.returncode == 0 and "2 skipped" in output, output[-3000:]
