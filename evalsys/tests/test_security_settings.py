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
