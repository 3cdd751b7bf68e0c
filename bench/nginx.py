"""Debian's nginx running the server block `feeder nginx-config` prints, on a free port.

tests/test_nginx.py and bench/serve.py both run it; scripts/test.sh installs
nginx when it is missing. nginx runs in the
foreground as a child of the test with its own prefix (pid, logs, temp
folders), so nothing of the system's nginx is touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeder.config import Config
from feeder.serve.nginx import nginx_config

STARTUP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )
    if found is None:
        raise NginxMissing("nginx is not installed: run `bash scripts/test.sh`, which installs it")
    return found


class NginxMissing(RuntimeError):
    """Debian's nginx package is not installed."""


def main_config(server_block: str, prefix: Path) -> str:
    """The http context around feeder's server block, everything under `prefix`."""
    temp = prefix / "temp"
    return f"""\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{server_block}
}}
"""


@contextmanager
def running_nginx(config: Config, prefix: Path) -> Iterator[str]:
    """nginx serving config's output with the generated block; yields its base URL.

    Its workers must be able to read the output: run as root, nginx makes them
    nobody, so the output may not be under a folder private to root."""
    port = free_port()
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(nginx_config(config, f"127.0.0.1:{port}"), prefix))
    command = [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    # As the block asks: nginx tells which months have ended by its local time.
    env = {**os.environ, "TZ": config.timezone.key}
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, env=env, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def error_log(prefix: Path) -> str:
    return (prefix / "error.log").read_text()


def _wait_for(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {process.stderr.read() if process.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on port {port} within {STARTUP_SECONDS} s")
