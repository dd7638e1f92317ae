import pytest

from dealers.models import Notification
from evalsys.tests.worker_tasks import notify_user_task


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_against_the_test_database(worker_process, office_manager):
    # given
    start = worker_process
    start(include=["evalsys.tests.worker_tasks"])
    # when
    first = notify_user_task.delay(office_manager.pk, "smoke", "来自 Celery 的通知")
    second = notify_user_task.delay(office_manager.pk, "smoke", "来自 Celery 的通知")
    # then: the worker wrote to this database, once
    assert first.get(timeout=60) is True
    assert second.get(timeout=60) is False
    assert list(Notification.objects.filter(user=office_manager).values_list("title", flat=True)) == [
        "来自 Celery 的通知"
    ]
