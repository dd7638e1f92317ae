"""Data versions (dealers.versions): raised by triggers on every statement, never repeated."""

import pytest

from dealers import versions
from dealers.models import DataVersionLog, Office
from dealers.tests.factories import DealerFactory, OfficeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]


def test_a_statement_raises_the_version_of_its_own_table_only():
    before = versions.versions([versions.DEALERS, versions.OFFICES])
    office = OfficeFactory()
    after_office = versions.versions([versions.DEALERS, versions.OFFICES])
    assert after_office[0] == before[0] and after_office[1] != before[1]
    DealerFactory(office=office)
    after_dealer = versions.versions([versions.DEALERS, versions.OFFICES])
    assert after_dealer[0] != after_office[0] and after_dealer[1] == after_office[1]


def test_compacting_the_log_leaves_the_versions_readers_see():
    for n in range(6):
        Office.objects.filter(pk=OfficeFactory().pk).update(name=f"办事处{n}")
    seen = versions.versions([versions.OFFICES])
    rows = DataVersionLog.objects.filter(name=versions.OFFICES).count()
    assert versions.compact_log(keep=2) == rows - 3
    assert DataVersionLog.objects.filter(name=versions.OFFICES).count() == 3
    assert versions.versions([versions.OFFICES]) == seen
    Office.objects.update(region="华东")
    assert versions.versions([versions.OFFICES]) != seen


def test_the_log_is_compacted_nightly_by_a_task(settings):
    from dealers.tasks import compact_data_versions_task

    assert settings.CELERY_BEAT_SCHEDULE["compact-data-versions"]["task"] == compact_data_versions_task.name
    for n in range(3):
        Office.objects.filter(pk=OfficeFactory().pk).update(name=f"办事处{n}")
    seen = versions.versions([versions.OFFICES])
    assert compact_data_versions_task.apply(kwargs={}).get() == 0  # fewer rows than it keeps
    assert versions.versions([versions.OFFICES]) == seen
