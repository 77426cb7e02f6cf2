"""The host programs the container tier runs, where podman looks for each, and the Debian package
that ships it.

Listed are what the tier calls itself and what podman finds at run time but its Debian package
does not pull in with ``--no-install-recommends`` (the pause binary, the network plugins): a
missing one would otherwise surface as an error in the middle of a build or a ``kube play``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# podman's defaults (containers.conf(5) of podman 4.3): helper_binaries_dir, the places it tries
# for the OCI runtime and conmon, and cni_plugin_dirs. Programs are looked for on $PATH as well,
# except the network plugins.
HELPER_DIRS = (
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
)
SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
CNI_DIRS = ("/usr/local/libexec/cni", "/usr/libexec/cni", "/usr/local/lib/cni", "/usr/lib/cni")
CNI_DIRS += ("/opt/cni/bin",)


@dataclass(frozen=True)
class Tool:
    name: str
    package: str
    why: str
    dirs: Sequence[str] = ()
    on_path: bool = True

    def location(self) -> str | None:
        for folder in self.dirs:
            candidate = Path(folder) / self.name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return shutil.which(self.name) if self.on_path else None

    def where(self) -> str:
        return ", ".join([*self.dirs, *(["$PATH"] if self.on_path else [])])


ENGINE = (
    Tool("podman", "podman", "the container engine"),
    Tool("conmon", "conmon", "podman's container monitor", HELPER_DIRS + SYSTEM_DIRS),
    Tool("runc", "runc", "the OCI runtime set in containers.conf", SYSTEM_DIRS),
    Tool("catatonit", "catatonit", "the pause binary of podman's pods (kube play)", HELPER_DIRS),
    Tool("debootstrap", "debootstrap", "makes the offline base image"),
    Tool("tar", "tar", "streams the base image's files into podman import"),
)
# The plugins chained by podman's default bridge network (published ports, the builds' RUN steps).
_CNI_WHY = "the plugins of podman's bridge network"
_IPTABLES = Tool("iptables", "iptables", "the bridge's port mapping and firewall", SYSTEM_DIRS)
NETWORK = {
    "cni": (
        *(
            Tool(name, "containernetworking-plugins", _CNI_WHY, CNI_DIRS, on_path=False)
            for name in ("bridge", "portmap", "firewall", "tuning", "host-local", "loopback")
        ),
        _IPTABLES,
    ),
    "netavark": (
        Tool("netavark", "netavark", "podman's network backend", HELPER_DIRS, on_path=False),
        _IPTABLES,
    ),
}
# On a machine without podman the install below brings CNI (Debian 12's podman 4.3 default).
INSTALL_BACKEND = "cni"
# Not looked for: the base image takes the host's CA bundle when there is one.
EXTRA_PACKAGES = ("ca-certificates",)


def needed(network_backend: str) -> tuple[Tool, ...]:
    if network_backend not in NETWORK:
        known = ", ".join(sorted(NETWORK))
        raise ValueError(f"podman's network backend {network_backend!r} is not one of {known}")
    return (*ENGINE, *NETWORK[network_backend])


def missing(tools: Sequence[Tool]) -> list[Tool]:
    return [tool for tool in tools if tool.location() is None]


def packages(tools: Sequence[Tool]) -> list[str]:
    return sorted({tool.package for tool in tools} | set(EXTRA_PACKAGES))


def report(tools: Sequence[Tool]) -> str:
    """One line per Debian package: its missing programs, what they do, where they were sought."""
    lines = []
    for package in sorted({tool.package for tool in tools}):
        mine = [tool for tool in tools if tool.package == package]
        names = ", ".join(tool.name for tool in mine)
        lines.append(
            f"  - {names} (Debian package {package}): {mine[0].why}; looked in {mine[0].where()}"
        )
    wanted = " ".join(sorted({tool.package for tool in tools}))
    return "\n".join([*lines, f"  install with: apt-get install --no-install-recommends {wanted}"])
