"""Every form of the project is protected against cross-site request forgery."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from dealers.tests.factories import UserFactory
from evalsys.tests import test_role_page_table as table

world = table.world  # the two-office world of the role × page table

POST_CASES = [case for case in table.CASES if case.method == "post"] + [
    table.Case(name, "A") for name in ("dealers:import", "targets:sales_import", "networks:visit_create")
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", POST_CASES, ids=str)
def test_every_post_is_refused_without_a_csrf_token(world, case):
    # given a user the page is open to (an administrator for pages no role opens, like saving a
    # what-if draft), in a client that enforces CSRF like a browser
    if "A" in case.own:
        user = world.users[table.ROLES[case.own.index("A")]]
    else:
        user = UserFactory(username="csrf-admin", is_superuser=True, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    # when a form is posted without the token
    response = client.post(case.path(world, "own", user), case.data)
    # then it is refused
    assert response.status_code == 403


FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S | re.I)


def test_every_post_form_in_the_templates_carries_the_token():
    missing, checked = [], 0
    for directory in settings.TEMPLATES[0]["DIRS"]:
        for path in Path(directory).rglob("*.html"):
            for form in FORM.finditer(path.read_text(encoding="utf-8")):
                checked += 1
                if (
                    re.search(r"method=[\"']?post", form["attrs"], re.I)
                    and "{% csrf_token %}" not in form["body"]
                ):
                    missing.append(f"{path.name}: <form{form['attrs'][:60]}>")
    assert checked > 20
    assert missing == []
