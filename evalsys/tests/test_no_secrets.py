"""No secret in the repository; production settings refuse to run without one and pass `check --deploy`."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]

SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"AKIA[0-9A-Z]{16}"),  # cloud access key ids
    re.compile(r"(postgres|postgresql|redis|smtp)://[^:/\s]+:[^@\s/]{3,}@"),  # URLs with a password
    re.compile(r"""(SECRET_KEY|PASSWORD)\s*=\s*["'][^"'\s]{12,}["']"""),  # hard-coded keys in code
]
# The test suite's own key, set for the test process only.
ALLOWED = {"evalsys/pytest_env.py"}
# Documented placeholders and the demo data's published password (seed_demo, README), not secrets.
PLACEHOLDERS = (
    "postgres://user:pass@",
    'SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"',
    'PASSWORD = "demo-pass-2026"',
)


def _tracked_files():
    listing = subprocess.run(["git", "ls-files"], cwd=BASE_DIR, capture_output=True, text=True, check=True)
    return [name for name in listing.stdout.splitlines() if name not in ALLOWED]


def test_no_tracked_file_contains_a_secret():
    found = []
    for name in _tracked_files():
        path = BASE_DIR / name
        if (
            not path.is_file()
            or path.suffix in {".mo", ".png", ".xlsx", ".ico"}
            or path.stat().st_size > 2_000_000
        ):
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [
            f"{name}: {m.group(0)[:40]}"
            for pattern in SECRET_PATTERNS
            for m in pattern.finditer(text)
            if not m.group(0).startswith(PLACEHOLDERS)
        ]
    assert found == []


def _manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", ALLOWED_HOSTS="evalsys.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="evalsys.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_COOKIES="true",
    )
    assert result.returncode == 0, result.stderr
