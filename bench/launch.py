"""Run one command, its output going to a log, and print its wall time and peak RSS as JSON.

The benchmark measures feeder through this small process rather than spawning
it from its own. Linux carries a process's peak RSS across exec (ru_maxrss),
so a child spawned straight from the benchmark, which by then holds the
corpus's names, would report the benchmark's peak instead of feeder's own.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    log_path, *command = sys.argv[1:]
    with open(log_path, "ab") as log:
        redirect = [
            (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, log.fileno(), 2),
        ]
        started = time.perf_counter()
        pid = os.posix_spawn(command[0], command, os.environ, file_actions=redirect)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - started
    report = {
        "wall_seconds": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "exit_code": os.waitstatus_to_exitcode(status),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
