import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Pages that must answer without a login.
PUBLIC = {"login", "set_language", "healthz"}


def _walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name, namespace


def _example_path(route):
    """Fill each converter of a route with a plausible value."""
    import re

    path = re.sub(r"<int:[^>]+>", "1", route)
    path = re.sub(r"<(str:)?[^>]+>", "X1", path)
    path = re.sub(r"<path:[^>]+>", "x/y", path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + path


def project_pages():
    for route, name, namespace in _walk(get_resolver().url_patterns):
        if namespace == "admin" or route.startswith("admin/") or name in PUBLIC:
            continue
        if any(ch in route for ch in "()[]?*+"):  # regex routes (none of ours)
            continue
        yield pytest.param(_example_path(route), id=f"{namespace or ''}:{name or route}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(project_pages()))
def test_every_page_sends_an_anonymous_user_to_login(client, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, f"{method.__name__} {path}"
        assert response["Location"].startswith("/accounts/login/"), path


@pytest.mark.django_db
def test_the_admin_sends_an_anonymous_user_to_its_login(client):
    response = client.get("/admin/dealers/dealer/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
