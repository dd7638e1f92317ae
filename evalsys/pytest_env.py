"""Loaded by pytest before Django reads its settings (see pytest.ini).

The test suite runs with production settings (DEBUG off) over plain HTTP.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
