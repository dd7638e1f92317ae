"""QuarterField and MonthField (evalsys/periods.py): what every app's quarter and month columns
accept, the message a form or the admin shows, and the data migrations that check stored values."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import connection
from django.forms import modelform_factory
from django.urls import reverse
from django.utils import translation

from dealers.models import MonthlySales, QuarterNote
from dealers.tests.factories import DealerFactory, SalesFactory
from evalsys.periods import MonthField, MonthFormField, QuarterField, normalise_stored_periods
from networks.models import OfficeAudit
from scoring.followup.models import WatchEntry
from scoring.models import QuarterField as ScoringQuarterField


def test_every_quarter_and_month_column_is_a_period_field():
    from dealers.models import MonthlyTarget, PointsEntry, PointsTier, ReminderLog
    from networks.models import ChurnReport, NetworkSummary
    from scoring.followup.models import Appeal

    for model, name in [
        (QuarterNote, "quarter"),
        (OfficeAudit, "quarter"),
        (NetworkSummary, "quarter"),
        (WatchEntry, "opened_quarter"),
        (WatchEntry, "closed_quarter"),
        (Appeal, "quarter"),
    ]:
        field = model._meta.get_field(name)
        assert isinstance(field, QuarterField) and field.max_length == 6, (model, name)
    for model, name in [
        (MonthlyTarget, "month"),
        (MonthlySales, "month"),
        (PointsEntry, "month"),
        (ReminderLog, "month"),
        (PointsTier, "effective_from"),
        (ChurnReport, "last_sales_month"),
    ]:
        assert isinstance(model._meta.get_field(name), MonthField), (model, name)
    # the first scoring migrations name the field scoring.models.QuarterField
    assert ScoringQuarterField is QuarterField


@pytest.mark.parametrize("value", ["2026Q1", "2026Q4", "2026q3", " 2026Q2"])
def test_quarter_field_accepts_and_normalises(value):
    field = QuarterNote._meta.get_field("quarter")
    assert field.clean(value, None) == value.strip().upper()


@pytest.mark.parametrize("value", ["2026Q5", "2026Q0", "2026-03", "26Q1", "Q3", "9999Q1"])
def test_quarter_field_refuses_with_a_translated_message(value):
    field = QuarterNote._meta.get_field("quarter")
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as error:
            field.clean(value, None)
        assert error.value.messages == ["请输入季度，例如 2026Q3。"]  # lazy: read in the language asked for


@pytest.mark.parametrize(
    ("value", "month"),
    [
        ("2026-09", datetime.date(2026, 9, 1)),
        ("2026/9", datetime.date(2026, 9, 1)),
        ("2026-09-01", datetime.date(2026, 9, 1)),
        (datetime.date(2026, 12, 1), datetime.date(2026, 12, 1)),
    ],
)
def test_month_field_accepts(value, month):
    assert MonthlySales._meta.get_field("month").clean(value, None) == month
    assert MonthFormField().clean(value) == month


def test_a_form_reads_a_day_as_its_month_but_the_column_stores_only_first_days():
    assert MonthFormField().clean("2026-09-17") == datetime.date(2026, 9, 1)
    with pytest.raises(ValidationError):
        MonthlySales._meta.get_field("month").clean(datetime.date(2026, 9, 17), None)
    with pytest.raises(ValidationError):
        MonthlySales._meta.get_field("month").clean("2026-09-17", None)


@pytest.mark.parametrize("value", ["2026-13", "2026-00", "2026-02-30", "September", "13/2026"])
def test_month_field_refuses_with_a_translated_message(value):
    field = MonthlySales._meta.get_field("month")
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as error:
            field.clean(value, None)
        assert error.value.messages == ["请输入月份，如 2026-09。"]
        with pytest.raises(ValidationError) as error:
            MonthFormField().clean(value)
        assert error.value.messages == ["请输入月份，如 2026-09。"]


@pytest.mark.django_db
def test_a_model_form_shows_the_message_and_saves_nothing():
    dealer = DealerFactory()
    Form = modelform_factory(QuarterNote, fields=["dealer", "quarter"])
    with translation.override("zh-hans"):
        form = Form(data={"dealer": dealer.pk, "quarter": "2026Q5"})
        assert not form.is_valid()
        assert form.errors["quarter"] == ["请输入季度，例如 2026Q3。"]
    form = Form(data={"dealer": dealer.pk, "quarter": "2026 q3"})
    assert form.is_valid(), form.errors
    assert form.save().quarter == "2026Q3"
    assert QuarterNote.objects.get().quarter == "2026Q3"


@pytest.mark.django_db
def test_the_admin_refuses_a_bad_month_and_a_bad_quarter(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    dealer = DealerFactory()
    response = client.post(
        reverse("admin:dealers_quarternote_add"),
        {"dealer": dealer.pk, "quarter": "2026Q5"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "请输入季度，例如 2026Q3。" in response.content.decode()
    response = client.post(
        reverse("admin:dealers_pointsentry_add"),
        {"dealer": dealer.pk, "month": "2026-13", "points": "5", "reason": "x"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "请输入月份，如 2026-09。" in response.content.decode()
    assert not QuarterNote.objects.exists()
    assert not dealer.points_entries.exists()


def _store(model, pk, column, value):
    """Write a value as an older version of the app could have, past the field's own reading."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [value, pk])


def test_a_lookup_reads_the_quarter_as_the_field_does():
    assert QuarterNote._meta.get_field("quarter").get_prep_value("2026q3") == "2026Q3"


@pytest.mark.django_db
def test_the_data_migrations_normalise_readable_quarters():
    dealer = DealerFactory()
    note = QuarterNote.objects.create(dealer=dealer, quarter="2026Q3")
    _store(QuarterNote, note.pk, "quarter", "2026q3")
    assert QuarterNote.objects.values_list("quarter", flat=True).get() == "2026q3"
    for module in [
        "dealers.migrations.0009_normalise_periods",
        "networks.migrations.0004_normalise_periods",
        "scoring.migrations.0018_normalise_periods",
    ]:
        importlib.import_module(module).normalise(apps, None)
    assert QuarterNote.objects.get().quarter == "2026Q3"


@pytest.mark.django_db
def test_the_data_migrations_refuse_unreadable_rows_and_change_nothing():
    dealer = DealerFactory()
    note = QuarterNote.objects.create(dealer=dealer, quarter="2026Q1")
    _store(QuarterNote, note.pk, "quarter", "2026Q5")
    good = QuarterNote.objects.create(dealer=dealer, quarter="2026Q2")
    _store(QuarterNote, good.pk, "quarter", "2026q2")
    sales = SalesFactory(dealer=dealer, month=datetime.date(2026, 7, 1), amount=Decimal(1))
    _store(MonthlySales, sales.pk, "month", datetime.date(2026, 7, 15))
    with pytest.raises(CommandError) as error:
        importlib.import_module("dealers.migrations.0009_normalise_periods").normalise(apps, None)
    message = str(error.value)
    assert f"dealers.QuarterNote id {note.pk}: quarter='2026Q5'" in message
    assert f"dealers.MonthlySales id {sales.pk}: month=2026-07-15" in message
    assert QuarterNote.objects.get(pk=good.pk).quarter == "2026q2"  # nothing rewritten


@pytest.mark.django_db
def test_a_blank_closed_quarter_is_allowed_by_the_data_migration():
    dealer = DealerFactory()
    WatchEntry.objects.create(dealer=dealer, opened_quarter="2026Q1", closed_quarter="")
    normalise_stored_periods(apps, [("scoring", "WatchEntry", "closed_quarter")])
    assert WatchEntry.objects.get().closed_quarter == ""
