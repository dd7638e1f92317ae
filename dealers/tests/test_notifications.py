import pytest

from dealers.models import Notification
from dealers.notifications import notify


@pytest.mark.django_db
def test_notifying_twice_with_the_same_key_sends_one_notification(office_manager):
    assert notify(user=office_manager, key="k1", title="请确认目标") is True
    assert notify(user=office_manager, key="k1", title="请确认目标") is False
    assert Notification.objects.filter(user=office_manager).count() == 1


@pytest.mark.django_db
def test_the_bell_counts_unread_notifications(client, office_manager, planner):
    # given
    notify(user=office_manager, key="a", title="第一条")
    notify(user=office_manager, key="b", title="第二条")
    notify(user=planner, key="a", title="not his")
    client.force_login(office_manager)
    # when
    response = client.get("/")
    # then
    assert response.context["unread_notifications"] == 2
    assert 'badge rounded-pill bg-danger">2<' in response.text


@pytest.mark.django_db
def test_the_notifications_page_lists_only_my_notifications(client, office_manager, planner):
    notify(user=office_manager, key="a", title="我的通知")
    notify(user=planner, key="a", title="别人的通知")
    client.force_login(office_manager)
    response = client.get("/notifications/")
    assert "我的通知" in response.text
    assert "别人的通知" not in response.text


@pytest.mark.django_db
def test_opening_a_notification_marks_it_read_and_follows_its_link(client, office_manager):
    # given
    notify(user=office_manager, key="a", title="目标待确认", url="/dealers/")
    notification = Notification.objects.get()
    client.force_login(office_manager)
    # when
    response = client.post(f"/notifications/{notification.pk}/open/")
    # then
    assert response["Location"] == "/dealers/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert client.get("/").context["unread_notifications"] == 0


@pytest.mark.django_db
def test_another_users_notification_is_404(client, office_manager, planner):
    notify(user=planner, key="a", title="计划部通知")
    client.force_login(office_manager)
    response = client.post(f"/notifications/{Notification.objects.get().pk}/open/")
    assert response.status_code == 404
    assert Notification.objects.get().read_at is None


@pytest.mark.django_db
def test_mark_all_as_read_clears_the_bell(client, office_manager, planner):
    notify(user=office_manager, key="a", title="一")
    notify(user=office_manager, key="b", title="二")
    notify(user=planner, key="a", title="三")
    client.force_login(office_manager)
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(user=office_manager, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=planner, read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_notification_never_leads_off_the_site(client, office_manager):
    notify(user=office_manager, key="a", title="外部链接", url="https://evil.example.com/")
    client.force_login(office_manager)
    response = client.post(f"/notifications/{Notification.objects.get().pk}/open/")
    assert response["Location"] == "/notifications/"


@pytest.mark.django_db
def test_mark_all_as_read_is_offered_only_while_something_is_unread(client, office_manager):
    # given one unread notification
    notify(user=office_manager, key="a", title="一")
    client.force_login(office_manager)
    # when the page is opened before and after marking all as read
    before = client.get("/notifications/").content.decode()
    client.post("/notifications/read-all/")
    after = client.get("/notifications/").content.decode()
    # then the button is there only the first time
    assert "/notifications/read-all/" in before
    assert "/notifications/read-all/" not in after
