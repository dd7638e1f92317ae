import pytest
from django.contrib.auth.models import Group

from dealers.roles import Role


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])
def test_rows_from_data_migrations_survive_transactional_tests(run):
    # A transactional test flushes the database when it ends; the second run
    # sees the role groups only because they are restored (conftest.py).
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    Group.objects.all().delete()
