#!/usr/bin/env bash
# Set up evalsys on a fresh machine and start it with demo data on http://127.0.0.1:8000
# (SQLite, Celery tasks in-process). Needs Python 3.11+ and npm (Node.js).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
  || { echo "demo.sh needs Python 3.11 or newer as \$PYTHON (now: $PYTHON)" >&2; exit 1; }
command -v npm >/dev/null || { echo "demo.sh needs npm (Node.js), e.g. apt-get install npm" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
# The locked front-end packages; reinstalled (npm ci) only when the installed tree does not match.
npm ls --all >/dev/null 2>&1 || npm ci --no-audit --no-fund --silent

export DEBUG=${DEBUG:-true}
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
echo
echo "evalsys is starting on http://127.0.0.1:8000 (Ctrl+C stops it)"
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
