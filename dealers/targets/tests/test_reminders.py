import datetime
import io
import threading
from decimal import Decimal as D
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import translation

from dealers.models import DealerStatus, Notification, ReminderLog, TargetStatus
from dealers.roles import Role
from dealers.targets.reminders import send_target_reminders
from dealers.targets.tasks import send_target_reminders_task
from dealers.tests.factories import AgreementFactory, DealerFactory, TargetFactory

DEADLINE_DAY = datetime.date(2026, 9, 25)
OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def role_groups(db):
    """The role groups, which an earlier transactional test may have flushed with the rest."""
    for role in Role:
        Group.objects.get_or_create(name=role)


@pytest.fixture
def dealers(office, other_office, business_manager, make_staff):
    """Dealers of the SH business manager `bm` in every situation, and one elsewhere."""
    other_bm = make_staff("bm_bj", Role.BUSINESS_MANAGER, office=other_office)

    def dealer(code, manager=business_manager, home=office, agreement=True, **kwargs):
        d = DealerFactory(code=code, name=f"经销商{code}", office=home, business_manager=manager, **kwargs)
        if agreement:
            AgreementFactory(dealer=d, year=2026)
        return d

    missing = dealer("SH001")
    proposed = dealer("SH002")
    TargetFactory(dealer=proposed, month=OCTOBER, status=TargetStatus.PROPOSED, agreed_amount=None)
    agreed = dealer("SH003")
    TargetFactory(dealer=agreed, month=OCTOBER, agreed_amount=D("5000"))
    dealer("SH004", agreement=False)
    dealer("SH005", status=DealerStatus.CHURNED, churned_on=datetime.date(2026, 8, 1))  # left the network
    agreed_for_september_only = dealer("SH006")
    TargetFactory(dealer=agreed_for_september_only, month=datetime.date(2026, 9, 1))
    unassigned = dealer("SH007", manager=None)
    elsewhere = dealer("BJ001", manager=other_bm, home=other_office)
    return {
        "missing": [missing, proposed, agreed_for_september_only],
        "unassigned": unassigned,
        "elsewhere": elsewhere,
        "other_bm": other_bm,
    }


def mails_to(username):
    return [m for m in mail.outbox if m.to == [f"{username}@example.com"]]


@pytest.mark.django_db
def test_each_business_manager_is_told_exactly_his_dealers_missing_next_months_target(
    dealers, business_manager
):
    # when
    result = send_target_reminders(today=DEADLINE_DAY)
    # then
    (message,) = mails_to("bm")
    listed = [line.split()[0] for line in message.body.splitlines()[1:]]
    assert listed == ["SH001", "SH002", "SH006"]
    assert "经销商SH001" in message.body
    assert "http://127.0.0.1:8000/targets/?month=2026-10#dealer-SH001" in message.body
    (notification,) = Notification.objects.filter(user=business_manager)
    assert notification.url == "/targets/?month=2026-10"
    assert "SH006" in notification.body and "SH003" not in notification.body
    assert [line.split()[0] for line in mails_to("bm_bj")[0].body.splitlines()[1:]] == ["BJ001"]
    assert result["missing"] == 5


@pytest.mark.django_db
def test_the_office_manager_gets_his_offices_summary_only(dealers, office_manager, make_staff, other_office):
    # given
    make_staff("om_bj_unrelated", Role.STATISTICIAN, office=other_office)
    # when
    send_target_reminders(today=DEADLINE_DAY)
    # then
    (message,) = mails_to("om")
    assert "4" in message.subject
    for code in ("SH001", "SH002", "SH006", "SH007"):
        assert code in message.body
    assert "BJ001" not in message.body and "SH003" not in message.body
    assert "bm: 3" in message.body
    assert Notification.objects.filter(user=office_manager).count() == 1
    assert not mails_to("om_bj_unrelated")


@pytest.mark.django_db
def test_running_the_job_again_sends_nothing_new(dealers, business_manager, office_manager):
    # when
    send_target_reminders(today=DEADLINE_DAY)
    second = send_target_reminders(today=DEADLINE_DAY)
    out = io.StringIO()
    call_command("send_target_reminders", "--date", "2026-09-25", stdout=out)
    # then
    assert second["sent"] == 0
    assert len(mails_to("bm")) == 1 and len(mails_to("om")) == 1 and len(mails_to("bm_bj")) == 1
    assert Notification.objects.filter(user=business_manager).count() == 1
    assert ReminderLog.objects.count() == 3
    assert "0 people reminded" in out.getvalue()


@pytest.mark.django_db
def test_a_reminder_sent_again_after_a_lost_claim_carries_the_same_message_id(
    dealers, business_manager, settings
):
    # given a reminder sent, whose claim was then lost (a worker killed before its commit)
    settings.SITE_URL = "https://evalsys.example.com"
    send_target_reminders(today=DEADLINE_DAY)
    ReminderLog.objects.filter(user=business_manager).delete()
    # when the rerun sends it again
    send_target_reminders(today=DEADLINE_DAY)
    # then mail servers and clients see one message twice, not two messages
    first, again = mails_to("bm")
    expected = (
        f"<target-reminder.2026-10.deadline.business_manager.{business_manager.pk}@evalsys.example.com>"
    )
    assert first.message()["Message-ID"] == again.message()["Message-ID"] == expected
    assert mails_to("bm_bj")[0].message()["Message-ID"] != expected


@pytest.mark.django_db
def test_the_heads_up_and_the_deadline_reminder_each_go_once(dealers, business_manager):
    # when
    heads_up = send_target_reminders(today=datetime.date(2026, 9, 20))
    send_target_reminders(today=datetime.date(2026, 9, 20))
    deadline = send_target_reminders(today=DEADLINE_DAY)
    nothing = send_target_reminders(today=datetime.date(2026, 9, 21))
    # then
    assert (heads_up["kind"], deadline["kind"], nothing["kind"]) == ("heads_up", "deadline", None)
    subjects = [m.subject for m in mails_to("bm")]
    assert len(subjects) == 2
    assert Notification.objects.filter(user=business_manager).count() == 2


@pytest.mark.django_db
def test_no_reminder_for_someone_with_nothing_missing(office, business_manager):
    # given every dealer has its agreed target
    dealer = DealerFactory(office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer)
    TargetFactory(dealer=dealer, month=OCTOBER)
    # when
    send_target_reminders(today=DEADLINE_DAY)
    # then
    assert mail.outbox == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_one_email_per_person(role_groups, dealers, office_manager):
    # given
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            send_target_reminders(today=DEADLINE_DAY)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    assert sorted(m.to[0] for m in mail.outbox) == ["bm@example.com", "bm_bj@example.com", "om@example.com"]
    assert Notification.objects.count() == 3


def fires_at(schedule: crontab, moment: datetime.datetime) -> bool:
    return (
        moment.minute in schedule.minute
        and moment.hour in schedule.hour
        and moment.day in schedule.day_of_month
        and moment.month in schedule.month_of_year
        and moment.isoweekday() % 7 in schedule.day_of_week
    )


def test_the_deadline_beat_fires_on_the_25th_at_9_local_time_and_at_no_other_minute():
    # given
    entry = settings.CELERY_BEAT_SCHEDULE["target-reminders-deadline"]
    schedule = entry["schedule"]
    assert entry["task"] == send_target_reminders_task.name
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai" and settings.CELERY_ENABLE_UTC is False
    # when every minute from December to the end of March is evaluated
    moment, end = datetime.datetime(2026, 12, 1), datetime.datetime(2027, 4, 1)
    firing = []
    while moment < end:
        if fires_at(schedule, moment):
            firing.append(moment)
        moment += datetime.timedelta(minutes=1)
    # then
    assert firing == [
        datetime.datetime(2026, 12, 25, 9, 0),
        datetime.datetime(2027, 1, 25, 9, 0),
        datetime.datetime(2027, 2, 25, 9, 0),
        datetime.datetime(2027, 3, 25, 9, 0),
    ]


def test_the_heads_up_beat_fires_five_days_before_at_9():
    schedule = settings.CELERY_BEAT_SCHEDULE["target-reminders-heads-up"]["schedule"]
    moment, firing = datetime.datetime(2027, 2, 1), []
    while moment < datetime.datetime(2027, 3, 1):
        if fires_at(schedule, moment):
            firing.append(moment)
        moment += datetime.timedelta(minutes=1)
    assert firing == [datetime.datetime(2027, 2, 20, 9, 0)]


@pytest.mark.celery_worker
def test_a_real_celery_worker_runs_the_reminder_job_once_per_person(
    worker_process, role_groups, dealers, settings
):
    # given
    start = worker_process
    start()
    # when the job is queued twice for the deadline day
    first = send_target_reminders_task.delay("2026-09-25").get(timeout=60)
    second = send_target_reminders_task.delay("2026-09-25").get(timeout=60)
    # then
    assert (first["sent"], second["sent"]) == (2, 0)
    sent = list(Path(settings.MEDIA_ROOT, "mail").glob("*.log"))
    bodies = "".join(p.read_text() for p in sent)
    assert bodies.count("To: bm@example.com") == 1
    assert bodies.count("To: bm_bj@example.com") == 1
    assert ReminderLog.objects.count() == 2


@pytest.mark.django_db
def test_the_deadline_day_and_the_heads_up_are_configurable(dealers, business_manager, settings):
    # given
    settings.TARGET_REMINDER_DAY = 20
    settings.TARGET_HEADS_UP_DAYS = 3
    # when
    on_17th = send_target_reminders(today=datetime.date(2026, 9, 17))
    on_20th = send_target_reminders(today=datetime.date(2026, 9, 20))
    on_25th = send_target_reminders(today=DEADLINE_DAY)
    # then
    assert (on_17th["kind"], on_20th["kind"], on_25th["kind"]) == ("heads_up", "deadline", None)
    assert "2026-09-20" in mails_to("bm")[-1].subject
