"""The daemon's heartbeat file: written by `feeder run`, read by `feeder status`.

Kept apart from the daemon so that status does not import the scheduler.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from feeder.config import Config
from feeder.files import remove_temp_files, write_if_changed
from feeder.locking import holder_pid, is_locked


@dataclass(frozen=True)
class Heartbeat:
    """What the daemon last wrote about itself."""

    started: datetime
    written: datetime
    next_runs: dict[str, datetime]


@dataclass(frozen=True)
class DaemonState:
    """What `feeder status` shows about the daemon; no heartbeat before its first one."""

    running: bool
    pid: int | None
    heartbeat: Heartbeat | None


def write_heartbeat(
    config: Config, started: datetime, next_runs: dict[str, datetime], now: datetime
) -> None:
    state = {
        "pid": os.getpid(),
        "started": started.isoformat(),
        "heartbeat": now.isoformat(),
        "next_runs": {job: moment.astimezone(UTC).isoformat() for job, moment in next_runs.items()},
    }
    path = config.daemon_state_path
    write_if_changed(path, json.dumps(state).encode(), temp_dir=path.parent, durable=False)


def remove_heartbeat_temp_files(config: Config) -> None:
    """Those a killed daemon left; call it holding the daemon lock, so no other
    daemon writes this heartbeat. Other databases' heartbeats may share the folder."""
    remove_temp_files(config.daemon_state_path.parent, config.daemon_state_path)


def daemon_state(config: Config) -> DaemonState:
    """Whether a daemon holds this database (its lock tells), and what it last reported."""
    running = is_locked(config.daemon_lock_path)
    try:
        state = json.loads(config.daemon_state_path.read_text())
        heartbeat = Heartbeat(
            started=datetime.fromisoformat(state["started"]),
            written=datetime.fromisoformat(state["heartbeat"]),
            next_runs={
                job: datetime.fromisoformat(moment)
                for job, moment in state.get("next_runs", {}).items()
            },
        )
    except (OSError, ValueError, KeyError):
        pid = holder_pid(config.daemon_lock_path) if running else None
        return DaemonState(running, pid, None)
    return DaemonState(running, state.get("pid"), heartbeat)
