import pytest
from django.urls import reverse

from dealers.roles import COMPANY_ROLES, OFFICE_ROLES, Role

# The navigation's links to pages that only some roles may open.
GUARDED_LINKS = [
    "targets:next_month",
    "targets:attainment",
    "targets:agreement_import",
    "targets:target_import",
    "targets:sales_import",
    "targets:missing_sales",
    "networks:visit_create",
    "dealers:import",
]


@pytest.fixture
def everyone(make_staff, office, django_user_model):
    users = {role: make_staff(f"u_{role}", role, office=office) for role in OFFICE_ROLES}
    users.update({role: make_staff(f"u_{role}", role) for role in COMPANY_ROLES})
    users["superuser"] = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456")
    return users


@pytest.mark.django_db
@pytest.mark.parametrize("who", [*Role.values, "superuser"])
def test_the_navigation_links_a_page_exactly_for_those_it_lets_in(client, everyone, who):
    # given
    client.force_login(everyone[who])
    # when
    home = client.get("/").content.decode()
    # then every guarded link is shown if and only if the page opens for this user
    wrong = []
    for name in GUARDED_LINKS:
        url = reverse(name)
        shown = f'href="{url}"' in home
        opens = client.get(url).status_code == 200
        if shown != opens:
            wrong.append(
                f"{name}: link {'shown' if shown else 'hidden'}, page {'opens' if opens else 'refused'}"
            )
    assert wrong == []
