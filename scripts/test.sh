#!/usr/bin/env bash
# Installs everything the tests need, then lints, type-checks and runs the whole suite.
# Debian packages (the newsboat reader, the chromium browser, nginx, node and npm) come
# from apt when missing; Python packages go into ./.venv, and the Telegram emulator into
# tests/peers/node_modules. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=()
command -v newsboat >/dev/null || debian_packages+=(newsboat)
command -v chromium >/dev/null || debian_packages+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || debian_packages+=(nginx)
command -v npm >/dev/null || debian_packages+=(nodejs npm)
if ((${#debian_packages[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "Installing Debian packages: ${debian_packages[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${debian_packages[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# The Telegram Bot API emulator the tests run (tests/peers), exactly as its lock file
# says; again only when the lock changed since (npm ci starts node_modules anew).
peers_lock=tests/peers/node_modules/.installed-package-lock.json
if ! cmp -s tests/peers/package-lock.json "$peers_lock"; then
  npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error >/dev/null
  cp tests/peers/package-lock.json "$peers_lock"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
