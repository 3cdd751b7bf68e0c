"""The `feeder` command: parse options, call the library, print the outcome.

Every operational error is a FeederError whose message says what to do; it
reaches the user as one line and exit status 1, never as a traceback. The group
and its shared options are in `group`; each module beside it registers the
commands of one concern on it, so a new command is one new module and one
import here.
"""

from feeder.cli import (
    backup,
    channels,
    editorial,
    fediverse,
    publishing,
    serving,
    status,
    websub,
)
from feeder.cli.group import main

__all__ = [
    "backup",
    "channels",
    "editorial",
    "fediverse",
    "main",
    "publishing",
    "serving",
    "status",
    "websub",
]
