"""Replacing a file so that readers only ever see the old bytes or the new ones.

Each file is written to a hidden temp file in its folder and moved into place
with os.replace. A file whose bytes did not change is not touched, so its
mtime (and so its HTTP validators) stay put. Both the publisher and the page
writer process use this; it imports nothing heavier than the standard library,
so that process starts fast.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from feeder.errors import FeederError

TEMP_SUFFIX = ".tmp"
# Every file is written through the one temp name of its folder: one writer at a time
# (the work lock) makes that safe, a killed writer leaves at most one temp file per
# folder, and a run removes it by name instead of listing the folder of pages.
TEMP_NAME = f".feeder-write{TEMP_SUFFIX}"


class PublishError(FeederError):
    """A file could not be written; the message names it and says what to check."""


def write_if_changed(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Replace `path` atomically with `data` unless it already holds exactly that."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass  # missing or unreadable: write it anew, and report if that fails
    temp = path.with_name(TEMP_NAME)
    try:
        with _create(temp) as temp_file:
            temp_file.write(data)
            if durable:
                temp_file.flush()
                os.fsync(temp_file.fileno())
        os.replace(temp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise PublishError(
            f"cannot write {path}: {error.strerror}; check free space and that "
            f"{path.parent} is a writable folder; the next run retries"
        ) from error
    return True


def remove_temp_file(directory: Path) -> None:
    """The temp file a killed writer may have left in `directory`."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        (directory / TEMP_NAME).unlink()


def _create(path: Path) -> BinaryIO:
    """Open `path` for writing, making its folder only when it is missing (not a
    mkdir and a stat before each of thousands of pages)."""
    try:
        return path.open("wb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")
