"""Nothing typed is lost: double saves, overrides without a reload, the sheet as one form, version checks."""

import doctest
from decimal import Decimal as D

import pytest
from django.urls import reverse

from dealers.roles import Role
from scoring import rules, services, views
from scoring.models import EvaluationRound, Indicator, Score, ScoreSheet

from .factories import Q3, dealer_with_sales


def test_the_rules_and_services_doctests_hold():
    from scoring.services import rounds

    for module in (rules, rounds, views):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module


@pytest.fixture
def sheet(db, office):
    dealer_with_sales(office=office, code="E000")
    services.open_quarter(quarter=Q3)
    return ScoreSheet.objects.get(dealer__code="E000")


def _ind(code):
    return Indicator.objects.get(code=code)


@pytest.mark.django_db
def test_saving_the_same_grid_twice_is_not_a_conflict(client, sheet, office_manager):
    # given the grid as loaded (version 1) with a score typed
    client.force_login(office_manager)
    store = _ind("store_display")
    data = {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "85"}
    url = reverse("scoring:grid", args=[sheet.round_id])
    # when it is sent twice (a double click)
    first = client.post(url, data)
    second = client.post(url, data)
    # then both are fine and the sheet was saved once
    assert (first.status_code, second.status_code) == (302, 302)
    sheet.refresh_from_db()
    assert sheet.version == 2
    assert Score.objects.get(sheet=sheet, indicator=store).value == D("85")


@pytest.mark.django_db
def test_a_different_value_over_someone_elses_save_is_still_a_conflict(client, sheet, office_manager):
    client.force_login(office_manager)
    store = _ind("store_display")
    url = reverse("scoring:grid", args=[sheet.round_id])
    client.post(url, {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "85"})
    response = client.post(url, {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "70"})
    assert response.status_code == 409
    assert Score.objects.get(sheet=sheet, indicator=store).value == D("85")


@pytest.mark.django_db
def test_the_grid_refuses_minus_five_and_reads_full_width_digits(client, sheet, office_manager):
    client.force_login(office_manager)
    store, promo = _ind("store_display"), _ind("promotion_effort")
    url = reverse("scoring:grid", args=[sheet.round_id])
    refused = client.post(
        url, {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "-5", f"s-{sheet.pk}-{promo.pk}": "８５"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'value="-5"' in html and "0–100" in html
    assert not Score.objects.filter(sheet=sheet, computed=False, value__isnull=False).exists()
    client.post(url, {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{promo.pk}": "８５．５"})
    assert Score.objects.get(sheet=sheet, indicator=promo).value == D("85.50")


@pytest.mark.django_db
def test_an_override_saved_with_fetch_answers_json(client, sheet, office_manager):
    client.force_login(office_manager)
    score = Score.objects.get(sheet=sheet, indicator__code="sales_volume")
    response = client.post(
        reverse("scoring:score_override", args=[score.pk]),
        {"value": "95", "reason": "返利抵扣", "shown_value": "", "shown_reason": ""},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["value"] == "95.00" and response.json()["reason"] == "返利抵扣"
    refused = client.post(
        reverse("scoring:score_override", args=[score.pk]),
        {"value": "96", "reason": "", "shown_value": "95.00", "shown_reason": "返利抵扣"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400 and "原因" in refused.json()["error"]


@pytest.mark.django_db
def test_a_stale_override_is_told_and_sees_theirs(client, sheet, office_manager, make_staff):
    # given a colleague overrode the indicator after this page was loaded (no override shown)
    colleague = make_staff("om2", Role.OFFICE_MANAGER, office=sheet.round.office)
    score = Score.objects.get(sheet=sheet, indicator__code="sales_volume")
    services.override_score(score=score, value="70", reason="退货", user=colleague, shown=("", ""))
    client.force_login(office_manager)
    # when this page saves its own override
    response = client.post(
        reverse("scoring:score_override", args=[score.pk]),
        {"value": "95", "reason": "返利抵扣", "shown_value": "", "shown_reason": ""},
        headers={"Accept": "application/json"},
    )
    # then nothing is saved and the page is shown theirs
    assert response.status_code == 409
    assert response.json()["theirs"] == {"value": "70.00", "reason": "退货"}
    score.refresh_from_db()
    assert score.override_value == D("70")
    # and saving again with theirs as shown overwrites knowingly
    again = client.post(
        reverse("scoring:score_override", args=[score.pk]),
        {"value": "95", "reason": "返利抵扣", "shown_value": "70.00", "shown_reason": "退货"},
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 200


@pytest.mark.django_db
def test_the_sheet_page_saves_scores_comment_and_evidence_in_one_form(client, sheet, office_manager):
    client.force_login(office_manager)
    store = _ind("store_display")
    evidence = Score.objects.get(sheet=sheet, indicator=store)
    response = client.post(
        reverse("scoring:sheet", args=[sheet.pk]),
        {
            "v": "1",
            f"s-{store.pk}": "88",
            "sheet_comment": "整体良好",
            "sheet_comment_shown": "",
            f"e{evidence.pk}-comment": "陈列整齐",
            f"e{evidence.pk}-comment_shown": "",
        },
    )
    assert response.status_code == 302
    sheet.refresh_from_db()
    evidence.refresh_from_db()
    assert (sheet.comment, evidence.value, evidence.comment) == ("整体良好", D("88"), "陈列整齐")


@pytest.mark.django_db
def test_a_bad_score_on_the_sheet_keeps_every_typed_text(client, sheet, office_manager):
    client.force_login(office_manager)
    store = _ind("store_display")
    evidence = Score.objects.get(sheet=sheet, indicator=store)
    response = client.post(
        reverse("scoring:sheet", args=[sheet.pk]),
        {
            "v": "1",
            f"s-{store.pk}": "180",
            "sheet_comment": "整体良好",
            "sheet_comment_shown": "",
            f"e{evidence.pk}-comment": "陈列整齐",
            f"e{evidence.pk}-comment_shown": "",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "整体良好" in html and "陈列整齐" in html and 'value="180"' in html
    sheet.refresh_from_db()
    assert sheet.comment == "" and Score.objects.get(pk=evidence.pk).comment == ""


@pytest.mark.django_db
def test_a_stale_sheet_comment_is_told_and_sees_both_versions(client, sheet, office_manager, make_staff):
    # given a colleague saved a comment after this page showed an empty one
    colleague = make_staff("om2", Role.OFFICE_MANAGER, office=sheet.round.office)
    services.save_sheet(
        sheet=sheet,
        edit=services.SheetEdit(version=1, scores={}, comment="他的评语", comment_shown="", evidence={}),
        user=colleague,
    )
    client.force_login(office_manager)
    # when this page saves its comment
    response = client.post(
        reverse("scoring:sheet", args=[sheet.pk]),
        {"v": "1", "sheet_comment": "我的评语", "sheet_comment_shown": ""},
    )
    # then nothing is saved; both comments are on the page
    assert response.status_code == 409
    html = response.content.decode()
    assert "我的评语" in html and "他的评语" in html
    sheet.refresh_from_db()
    assert sheet.comment == "他的评语"


@pytest.mark.django_db
def test_an_approved_round_refuses_the_sheet_and_overrides(client, sheet, office_manager):
    EvaluationRound.objects.filter(pk=sheet.round_id).update(status="approved")
    score = Score.objects.get(sheet=sheet, indicator__code="sales_volume")
    with pytest.raises(services.ScoringError):
        services.override_score(score=score, value="90", reason="x", user=office_manager)
    with pytest.raises(services.ScoringError):
        services.save_sheet(
            sheet=sheet,
            edit=services.SheetEdit(version=1, scores={}, comment="x", comment_shown="", evidence={}),
            user=office_manager,
        )
