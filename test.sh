#!/usr/bin/env bash
# Run the whole test suite: PostgreSQL, Redis and real Celery workers, browser tests in the
# system Chromium. Installs what it needs; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/install-test-deps.sh

# The local PostgreSQL and Redis; started when down.
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/evalsys}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ $status -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit $status
