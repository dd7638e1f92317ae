"""Staff see Chinese error pages with a way back, never Django's bare English ones (DEBUG off)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.views import defaults


@pytest.mark.django_db
def test_an_unknown_page_is_a_chinese_404_with_navigation(client, office_manager, settings):
    settings.DEBUG = False
    client.force_login(office_manager)
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "找不到页面" in html and 'href="/"' in html and "Not Found" not in html


@pytest.mark.django_db
def test_a_forbidden_page_is_a_chinese_403(rf, office_manager, settings):
    settings.DEBUG = False
    request = rf.get("/")
    request.user = office_manager
    response = defaults.permission_denied(request, PermissionDenied())
    assert response.status_code == 403 and "无权" in response.content.decode()


def test_a_server_error_is_a_chinese_500_with_a_way_back(settings):
    settings.DEBUG = False
    response = defaults.server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "出错了" in html and 'href="/"' in html and "Server Error" not in html


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_a_chinese_page(office_manager, settings):
    from django.test import Client

    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True)
    client.force_login(office_manager)
    response = client.post("/network/visits/new/", {"purpose": "x"})
    assert response.status_code == 403 and "页面已过期" in response.content.decode()
