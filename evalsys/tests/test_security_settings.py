import pytest
from django.conf import settings as django_settings
from django.test import Client


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_for_that_address(settings, office_manager):
    # given login throttling is on
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.7")
    # when the password is wrong three times
    for _ in range(3):
        client.post("/accounts/login/", {"username": office_manager.username, "password": "wrong"})
    # then even the right password is refused, with a clear message
    response = client.post("/accounts/login/", {"username": office_manager.username, "password": "pw-123456"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_forms_are_refused_without_a_csrf_token(office_manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(office_manager)
    response = client.post("/notifications/read-all/")
    assert response.status_code == 403


def test_cookies_and_headers_are_locked_down_in_production():
    # the suite runs with production settings (DEBUG off) over plain HTTP
    assert django_settings.DEBUG is False
    assert django_settings.SESSION_COOKIE_HTTPONLY
    assert django_settings.CSRF_COOKIE_HTTPONLY
    assert django_settings.X_FRAME_OPTIONS == "DENY"
    assert django_settings.SECURE_CONTENT_TYPE_NOSNIFF
    assert "django.contrib.auth.middleware.LoginRequiredMiddleware" in django_settings.MIDDLEWARE
    assert "django.middleware.csrf.CsrfViewMiddleware" in django_settings.MIDDLEWARE


@pytest.mark.django_db
def test_behind_the_proxy_one_clients_failures_do_not_lock_the_account_for_another(settings, office_manager):
    # given: one trusted proxy in front, which every request comes from
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.66")
    colleague = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    # when: the attacker fails three times, forging the left-most entry
    for _ in range(3):
        attacker.post("/accounts/login/", {"username": office_manager.username, "password": "wrong"})
    # then: he is locked out; the account still opens from the colleague's address
    locked = attacker.post("/accounts/login/", {"username": office_manager.username, "password": "pw-123456"})
    assert locked.status_code == 429
    opened = colleague.post(
        "/accounts/login/", {"username": office_manager.username, "password": "pw-123456"}
    )
    assert opened.status_code == 302
    assert "_auth_user_id" in colleague.session


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.2"),  # no proxy: the header is the client's own
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # a forged entry on the left is ignored
        (2, "203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (2, "10.0.0.9", "10.0.0.2"),  # fewer entries than proxies: not believed
    ],
)
def test_the_client_address_is_read_as_far_as_the_proxies_are_trusted(
    settings, rf, count, forwarded, expected
):
    from evalsys.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_without_inline_script(client, office_manager):
    client.force_login(office_manager)
    for url in ("/", "/accounts/login/", "/admin/login/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "object-src 'none'" in policy


def test_no_template_has_inline_script_handlers_or_styles():
    # Inline script, on* handlers and style attributes are refused by the policy: a template
    # that brings them back would break its page silently. Every template directory Django
    # reads (the project's and any app's), and HTML built in Python (format_html, mark_safe).
    import re
    from pathlib import Path

    from django.template import engines

    base = Path(django_settings.BASE_DIR)
    folders = {Path(d) for engine in engines.all() for d in engine.template_dirs}
    folders = {d for d in folders if d.is_dir() and base in d.resolve().parents and ".venv" not in d.parts}
    assert base / "templates" in folders
    patterns = (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style", r"javascript:")
    found = []
    for folder in folders:
        for path in folder.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            for pattern in patterns:
                found += [f"{path.relative_to(base)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    for path in base.glob("*/**/*.py"):
        if {".venv", "node_modules", "tests", "migrations"} & set(path.relative_to(base).parts):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"\sstyle\s*=\s*[\\]?[\"']",
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\son(click|load|change|submit)\s*=",
        ):
            found += [f"{path.relative_to(base)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


def test_the_page_reader_finds_what_the_policy_refuses():
    import doctest

    from evalsys.tests import csp

    assert doctest.testmod(csp).failed == 0
    assert csp.inline_code('<div onmouseover="x()" style="color:red"></div>') == [
        "<div onmouseover=…>",
        "<div style=…>",
    ]
