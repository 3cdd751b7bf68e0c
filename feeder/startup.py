"""Checks a command makes before it starts work, so that what cannot work fails at once.

Without them a daemon with an unwritable output folder starts, and every job
then fails: under systemd that looks like a healthy service publishing
nothing. Each problem is one line naming the path or key and what to do;
folders feeder writes are created when missing, the inbox never is (feeder
only reads it, and a missing inbox is more likely a wrong path or a mount
that is not up).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from feeder.config import Config
from feeder.errors import FeederError
from feeder.registered import CHANNELS
from feeder.slugs import category_slug
from feeder.store import Store

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class StartupError(FeederError):
    """Something a command needs is missing or not usable; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Needs:
    """What a command uses, so that each is checked only where it matters: `regen`
    rebuilds from the database alone, on a machine that may have no inbox."""

    inbox: bool = False
    database: bool = False
    output: bool = False
    channels: bool = False
    """The settings of channels that send (a bot token): `feeder run` only."""


def check_startup(config: Config, needs: Needs) -> None:
    """Raise StartupError listing every problem found, or return when all is well."""
    problems = []
    if needs.inbox:
        problems.append(inbox_problem(config))
    if needs.database:
        problems.append(_database_problem(config))
    if needs.output:
        problems.append(_output_problem(config))
    if needs.database and config.category_slugs and not any(problems):
        problems += _pinned_slug_problems(config)
    if needs.channels:
        problems += [problem for channel in CHANNELS for problem in channel.problems(config)]
    found = [problem for problem in problems if problem]
    if found:
        raise StartupError(found)


def inbox_problem(config: Config) -> str | None:
    """Why the inbox cannot be listed, or None; `feeder status` shows it too."""
    inbox = config.inbox
    fix = f"create it or fix 'inbox' in {config.source}"
    try:
        with os.scandir(inbox):
            pass
    except FileNotFoundError:
        return f"the inbox {inbox} does not exist; {fix}"
    except NotADirectoryError:
        return f"the inbox {inbox} is not a folder; {fix}"
    except OSError as error:
        return (
            f"cannot read the inbox {inbox}: {error.strerror}; let the user feeder runs as "
            f"read it, or fix 'inbox' in {config.source}"
        )
    return None


def _database_problem(config: Config) -> str | None:
    folder_problem = writable_folder_problem(config.database.parent, "database", config)
    if folder_problem or not config.database.exists():
        return folder_problem
    try:
        with config.database.open("r+b"):
            pass
    except OSError as error:
        return (
            f"cannot write the database {config.database}: {error.strerror}; give the user "
            "feeder runs as write access to it"
        )
    return None


def _output_problem(config: Config) -> str | None:
    """The output folder and the folders already in it: a subfolder left owned by
    another user (a regen run as root) fails every write into it."""
    problem = writable_folder_problem(config.output_dir, "output_dir", config)
    if problem:
        return problem
    for entry in sorted(os.scandir(config.output_dir), key=lambda entry: entry.name):
        if entry.is_symlink() and entry.is_dir(follow_symlinks=True):
            return (
                f"{entry.path} is a symbolic link to the folder {os.path.realpath(entry.path)}: "
                "feeder would write through it, outside output_dir; replace the link with "
                f"a real folder (move what it points at into its place), or fix 'output_dir' "
                f"in {config.source}"
            )
        if entry.is_dir(follow_symlinks=True):  # the hidden temp folder too
            problem = writable_folder_problem(Path(entry.path), "output_dir", config)
            if problem:
                return problem
    return None


def _pinned_slug_problems(config: Config) -> list[str]:
    """A [category_slugs] pin equal to another stored category's own slug would
    merge the two into one feed without a word; names that share a slug anyway
    (`Политика`, `ПОЛИТИКА`) are one category."""
    with Store(config.database) as store:
        names = store.category_names()
    automatic = {
        name: category_slug(name, {}) for name in names if name not in config.category_slugs
    }
    return [
        f'category_slugs."{pinned}" is {slug!r}, the slug of the category "{name}": the two '
        f'would share one feed; pin "{pinned}" to another slug in {config.source}'
        for pinned, slug in config.category_slugs.items()
        if category_slug(pinned, {}) != slug
        for name, own in automatic.items()
        if own == slug
    ]


def writable_folder_problem(folder: Path, key: str, config: Config) -> str | None:
    """Creates `folder` when missing; a problem names the folder that refused,
    which is the nearest existing one when creating failed, not the missing one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{folder} is not a folder; remove the file or fix '{key}' in {config.source}"
    except OSError as error:
        blocking = _nearest_existing(folder)
        return (
            f"cannot create {folder}: {blocking} is not writable ({error.strerror}); "
            f"give the user feeder runs as write access to {blocking}, or fix '{key}' in "
            f"{config.source}"
        )
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    read_only = os.statvfs(folder).f_flag & os.ST_RDONLY
    cause = "on a read-only filesystem" if read_only else "not writable by this user"
    return (
        f"{folder} is {cause}; give the user feeder runs as write access to it, "
        f"or fix '{key}' in {config.source}"
    )


def _nearest_existing(folder: Path) -> Path:
    for parent in folder.parents:
        if parent.exists():
            return parent
    return folder


def warn_about_the_served_port(config: Config) -> None:
    """At start-up and on reload of a command that serves HTTP."""
    warning = base_url_port_warning(config, config.server.port)
    if warning:
        log.warning("%s", warning)


def base_url_port_warning(config: Config, served_port: int) -> str | None:
    """base_url pointing at this machine on another port than the one served is a
    port changed in [server] and not in base_url: every link would be dead."""
    url = urlsplit(config.base_url)
    if url.hostname not in LOOPBACK_NAMES or served_port == 0:
        return None
    linked_port = url.port or DEFAULT_PORTS.get(url.scheme)
    if linked_port == served_port:
        return None
    return (
        f"base_url {config.base_url} names port {linked_port}, but feeder serves on port "
        f"{served_port}: every link in the feeds and pages points at the wrong port; "
        f"set base_url to http://{url.hostname}:{served_port}/ in {config.source}"
    )
