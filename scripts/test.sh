#!/usr/bin/env bash
# Installs everything the tests need, then lints, type-checks and runs the whole suite.
# Debian packages (the newsboat reader, the chromium browser, nginx) come from apt
# when missing; Python packages go into ./.venv. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=()
command -v newsboat >/dev/null || debian_packages+=(newsboat)
command -v chromium >/dev/null || debian_packages+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || debian_packages+=(nginx)
if ((${#debian_packages[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "Installing Debian packages: ${debian_packages[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${debian_packages[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
