#!/usr/bin/env bash
# Install what the test suite needs: system packages (Chromium, CJK fonts, gettext),
# the Python virtualenv with requirements-dev.txt, and the npm front-end assets.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need_apt+=(fonts-noto-cjk)
command -v msgfmt >/dev/null || need_apt+=(gettext)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "Please install: ${need_apt[*]} (sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# The locked front-end packages; reinstalled (npm ci) only when the installed tree does not match.
npm ls --all >/dev/null 2>&1 || npm ci --no-audit --no-fund --silent
