import pytest


@pytest.mark.django_db
def test_pages_are_in_chinese_by_default(client, office_manager):
    # when
    login_page = client.get("/accounts/login/")
    client.force_login(office_manager)
    dashboard = client.get("/")
    # then
    assert '<html lang="zh-hans">' in login_page.text
    assert "登录" in login_page.text
    assert "经销商" in dashboard.text
    assert "Dealers" not in dashboard.text


@pytest.mark.django_db
def test_pages_are_in_english_after_switching(client, office_manager):
    # given
    client.force_login(office_manager)
    # when
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/dealers/"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/dealers/"
    page = client.get("/dealers/")
    assert '<html lang="en">' in page.text
    assert "Dealers" in page.text
    assert "经销商" not in page.text


@pytest.mark.django_db
def test_the_language_can_be_switched_before_logging_in(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert "Log in" in client.get("/accounts/login/").text


@pytest.mark.django_db
def test_the_login_throttling_admin_is_in_chinese(admin_client):
    # when
    index = admin_client.get("/admin/")
    attempts = admin_client.get("/admin/axes/accessattempt/")
    # then
    assert "登录限制" in index.text and "访问尝试" in index.text and "访问日志" in index.text
    assert attempts.status_code == 200
    assert "访问尝试" in attempts.text and "Access attempt" not in attempts.text
