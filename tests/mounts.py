"""Real read-only and full filesystems for a test, in a mount namespace of its own.

`unshare -m` gives the command a private copy of the mount table, so a bind
mount or a tiny tmpfs made there is gone when it exits and nothing else on
the machine sees it. It needs root (CI runs as root).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

UNSHARE = shutil.which("unshare")


def _can_mount() -> bool:
    if UNSHARE is None:
        return False
    probe = subprocess.run(
        [UNSHARE, "-m", "sh", "-c", "mount --bind -o ro / /mnt"], capture_output=True, check=False
    )
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(
    not _can_mount(), reason="needs root and mount namespaces (unshare -m) to mount filesystems"
)


def read_only(folder: Path) -> str:
    return f'mount --bind -o ro "{folder}" "{folder}"'


def tiny_disk(folder: Path, kib: int) -> str:
    """A tmpfs of `kib` KiB over `folder` (its contents hidden): a disk that fills up."""
    return f'mount -t tmpfs -o size={kib}k tmpfs "{folder}"'


def mounted_command(mount: str, command: Sequence[str]) -> list[str]:
    """`command` run with `mount` done first, in a namespace of its own."""
    assert UNSHARE is not None
    return [UNSHARE, "-m", "sh", "-c", f'{mount} && exec "$@"', "sh", *command]


def run_mounted(mount: str, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mounted_command(mount, command), capture_output=True, text=True, timeout=120, check=False
    )
