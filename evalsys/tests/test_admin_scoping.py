"""The Django admin keeps office scoping for every registered model (DESIGN.md §1)."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from dealers.admin import ScopedAdmin
from dealers.models import ReminderLog
from evalsys.tests import test_role_page_table

world = test_role_page_table.world  # the two-office world of the role × page table

# Models whose admin is not office-scoped, and why.
NOT_OFFICE_DATA = {
    "auth.group": "the roles themselves",
    "scoring.indicator": "company-wide catalogue",
    "scoring.weightscheme": "company-wide configuration",
    "scoring.classificationpolicy": "company-wide configuration",
    "scoring.classbenefit": "company-wide configuration",
    "scoring.quartergrading": "company-wide job state",
    "dealers.pointstier": "company-wide configuration",
    "scoring.watchrule": "company-wide configuration",
    "axes.accessattempt": "login throttling, administrators only",
    "axes.accessfailurelog": "login throttling, administrators only",
    "axes.accesslog": "login throttling, administrators only",
}
# Models scoped by their own rule rather than by ScopedAdmin.
SCOPED_OTHERWISE = {
    "auth.user": "StaffUserAdmin: users of the own office",
    "dealers.notification": "NotificationAdmin: the user's own",
    "dealers.reminderlog": "ReminderLogAdmin: reminders of the own office's people",
}


def _label(model):
    return f"{model._meta.app_label}.{model._meta.model_name}"


def test_every_admin_with_office_data_is_scoped():
    unscoped = {
        _label(model)
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, ScopedAdmin)
        and _label(model) not in NOT_OFFICE_DATA
        and _label(model) not in SCOPED_OTHERWISE
    }
    assert unscoped == set()


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
def test_office_staff_see_only_their_office_in_every_scoped_admin(world):
    # given the office manager as an admin user of office SH, and sales planning
    manager, planner = world.users["office_manager"], world.users["sales_planning"]
    own = world.office["own"]
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, ScopedAdmin):
            continue
        # when each scoped admin lists its objects
        mine = model_admin.get_queryset(_request(manager))
        everything = model_admin.get_queryset(_request(planner))
        # then the office manager's are all of his office, and planning sees all
        field = mine.office_field
        lookup = "pk" if field == "office" and _label(model) == "dealers.office" else f"{field}_id"
        assert not mine.exclude(**{lookup: own.pk}).exists(), _label(model)
        assert everything.count() == model._default_manager.count(), _label(model)


@pytest.mark.django_db
def test_the_reminder_log_admin_shows_office_staff_only_their_offices_reminders(world):
    # given reminders sent to a business manager of each office
    from dealers.models import StaffProfile
    from dealers.tests.factories import UserFactory

    stranger = UserFactory(username="bm-bj")
    StaffProfile.objects.create(user=stranger, office=world.office["other"])
    month = datetime.date(2026, 12, 1)
    for user in (world.users["business_manager"], stranger):
        ReminderLog.objects.create(
            user=user, month=month, kind="deadline", audience="business_manager", dealer_count=1
        )
    manager = world.users["office_manager"]
    manager.is_staff = True
    manager.save()
    manager.user_permissions.add(Permission.objects.get(codename="view_reminderlog"))
    model_admin = admin.site._registry[ReminderLog]
    # when the office manager and sales planning list them
    mine = model_admin.get_queryset(_request(manager))
    everything = model_admin.get_queryset(_request(world.users["sales_planning"]))
    # then he sees his office's only
    assert list(mine.values_list("user__username", flat=True)) == ["bm"]
    assert everything.count() == 2
    assert model_admin.get_queryset(_request(world.users["no_role"])).count() == 0
