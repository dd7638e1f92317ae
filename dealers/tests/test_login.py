import pytest

from conftest import PASSWORD


@pytest.mark.django_db
def test_a_user_logs_in_lands_on_the_dashboard_and_logs_out(client, office_manager):
    # when
    response = client.post("/accounts/login/", {"username": "om", "password": PASSWORD})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    # when
    client.post("/accounts/logout/")
    # then
    assert client.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_message(client, office_manager):
    response = client.post("/accounts/login/", {"username": "om", "password": "wrong"})
    assert response.status_code == 200
    assert "alert" in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_repeated_failures_lock_the_login(client, settings, office_manager):
    # given
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": "om", "password": "wrong"})
    # when: even the right password
    response = client.post("/accounts/login/", {"username": "om", "password": PASSWORD})
    # then
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
