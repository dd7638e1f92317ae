"""The evaluation pages: grid, sheet, round, ABC list, jobs — as their users see them."""

import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from dealers.models import Notification
from dealers.roles import Role
from dealers.tests.factories import DealerFactory
from scoring import services
from scoring.models import EvaluationRound, Grade, Indicator, RoundStatus, Score, ScoreSheet
from scoring.panels import quarterly_history

from .factories import Q3, approve, dealer_with_sales, fill_manual


def _company(office, other_office, n):
    for i in range(n):
        dealer_with_sales(office=office, code=f"E{i:03d}", sales=(100 + i, 100, 100))
        dealer_with_sales(office=office, code=f"L{i:03d}", kind="logistics", sales=(100, 100 + i, 100))
    dealer_with_sales(office=other_office, code="X001")
    services.open_quarter(quarter=Q3)


def _round(office):
    return EvaluationRound.objects.get(office=office, quarter="2026Q3")


@pytest.mark.parametrize("n", [2, 12])
def test_grid_queries_do_not_grow_with_dealers(
    client, office, other_office, office_manager, n, django_assert_max_num_queries
):
    # given
    _company(office, other_office, n)
    client.force_login(office_manager)
    # when / then
    with django_assert_max_num_queries(20):
        response = client.get(reverse("scoring:grid", args=[_round(office).pk]))
    assert response.status_code == 200
    assert (
        response.content.decode().count('class="form-control form-control-sm text-end score-input')
        == n * 4 + n * 8
    )


@pytest.mark.parametrize("n", [2, 12])
def test_abc_list_queries_do_not_grow_with_dealers(
    client, office, other_office, planner, n, django_assert_max_num_queries
):
    # given
    _company(office, other_office, n)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    # when / then
    with django_assert_max_num_queries(16):
        response = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "sort": "total"})
    assert response.status_code == 200
    assert "X001" in response.content.decode()


def test_saving_the_grid_stores_scores_and_bumps_versions(client, office, other_office, office_manager):
    # given
    _company(office, other_office, 1)
    client.force_login(office_manager)
    sheet = ScoreSheet.objects.get(dealer__code="E000")
    store = Indicator.objects.get(code="store_display")
    # when
    response = client.post(
        reverse("scoring:grid", args=[sheet.round_id]),
        {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "85.5"},
    )
    # then
    assert response.status_code == 302
    assert Score.objects.get(sheet=sheet, indicator=store).value == D("85.50")
    sheet.refresh_from_db()
    assert (sheet.version, sheet.updated_by) == (2, office_manager)


def test_a_bad_cell_is_marked_and_nothing_is_lost(client, office, other_office, office_manager):
    # given
    _company(office, other_office, 1)
    client.force_login(office_manager)
    sheet = ScoreSheet.objects.get(dealer__code="E000")
    store, promo = Indicator.objects.get(code="store_display"), Indicator.objects.get(code="promotion_effort")
    # when one good and one bad value are saved together
    response = client.post(
        reverse("scoring:grid", args=[sheet.round_id]),
        {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "90", f"s-{sheet.pk}-{promo.pk}": "120"},
    )
    # then nothing is saved, the bad cell names dealer and indicator, the typed values are shown again
    assert response.status_code == 400
    html = response.content.decode()
    assert "is-invalid" in html and "E000" in html and "主推力度" in html
    assert 'value="120"' in html and 'value="90"' in html
    assert not Score.objects.filter(sheet=sheet, value__isnull=False, computed=False).exists()


def test_a_concurrent_edit_shows_both_versions(client, office, other_office, office_manager, make_staff):
    # given someone else saved the sheet after this page was loaded (version 1)
    _company(office, other_office, 1)
    sheet = ScoreSheet.objects.get(dealer__code="E000")
    store = Indicator.objects.get(code="store_display")
    other = make_staff("om2", Role.OFFICE_MANAGER, office=office)
    services.save_grid(
        round=sheet.round, entries={sheet.pk: {"version": 1, "scores": {store.pk: "60"}}}, user=other
    )
    client.force_login(office_manager)
    # when
    response = client.post(
        reverse("scoring:grid", args=[sheet.round_id]),
        {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "95"},
    )
    # then the later save is told; theirs (60) and mine (95) are both on the page; theirs is kept
    assert response.status_code == 409
    html = response.content.decode()
    assert 'value="95"' in html and "60.00" in html and "om2" in html
    assert Score.objects.get(sheet=sheet, indicator=store).value == D("60")
    assert f'name="v-{sheet.pk}" value="2"' in html


def test_the_grid_shows_every_change_at_once_and_a_failed_save_as_typed(
    client, office, other_office, office_manager
):
    # the grid is rendered once per content (evalsys.fragments): a score stored by any path, a
    # renamed dealer, an error page and the grid after it each show what they should
    _company(office, other_office, 1)
    client.force_login(office_manager)
    sheet = ScoreSheet.objects.get(dealer__code="E000")
    store = Indicator.objects.get(code="store_display")
    url = reverse("scoring:grid", args=[sheet.round_id])
    assert 'value="77.25"' not in client.get(url).content.decode()
    Score.objects.filter(sheet=sheet, indicator=store).update(value=D("77.25"))
    assert 'value="77.25"' in client.get(url).content.decode()
    type(sheet.dealer).objects.filter(pk=sheet.dealer_id).update(name="改名的经销商")
    assert "改名的经销商" in client.get(url).content.decode()
    failed = client.post(url, {f"v-{sheet.pk}": "1", f"s-{sheet.pk}-{store.pk}": "120"})
    assert failed.status_code == 400 and 'value="120"' in failed.content.decode()
    again = client.get(url).content.decode()
    assert 'value="120"' not in again and 'value="77.25"' in again


def test_the_dashboard_s_progress_shows_a_score_at_once(client, office, other_office, planner):
    # the progress panel is cached and rendered once per content: a score entered shows at once
    _company(office, other_office, 1)
    client.force_login(planner)
    assert "0 / 2" in client.get("/").text.split('data-testid="evaluation-progress"')[1]
    fill_manual()
    assert "2 / 2" in client.get("/").text.split('data-testid="evaluation-progress"')[1]


def test_another_offices_round_is_404(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    client.force_login(office_manager)
    other_round = _round(other_office)
    assert client.get(reverse("scoring:grid", args=[other_round.pk])).status_code == 404
    assert client.get(reverse("scoring:round", args=[other_round.pk])).status_code == 404
    sheet = ScoreSheet.objects.get(dealer__code="X001")
    assert client.get(reverse("scoring:sheet", args=[sheet.pk])).status_code == 404


def test_office_manager_sees_only_his_offices_abc_list(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    services.regrade_quarter(quarter=Q3)
    client.force_login(office_manager)
    html = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"}).content.decode()
    assert "E000" in html and "X001" not in html
    csv_text = client.get(reverse("scoring:abc_export"), {"quarter": "2026Q3"}).content.decode("utf-8-sig")
    assert "E000" in csv_text and "X001" not in csv_text


def test_the_abc_filter_keeps_the_sort_and_its_direction(client, office, other_office, office_manager):
    # given the list sorted by dealer code descending (a header click on a desktop)
    _company(office, other_office, 1)
    services.regrade_quarter(quarter=Q3)
    client.force_login(office_manager)
    html = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "sort": "-code"}).content.decode()
    # then the filter form sends that sort again (the phones' sort choice, hidden on a desktop)
    assert '<option value="-code" selected>' in html
    # and by default the choice offers totals highest first
    html = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"}).content.decode()
    assert '<option value="code" selected>' in html and '<option value="-total">' in html


def test_overriding_a_computed_score_needs_a_reason(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    client.force_login(office_manager)
    score = Score.objects.get(sheet__dealer__code="E000", indicator__code="sales_volume")
    client.post(reverse("scoring:score_override", args=[score.pk]), {"value": "70", "reason": ""})
    score.refresh_from_db()
    assert score.override_value is None
    client.post(reverse("scoring:score_override", args=[score.pk]), {"value": "70", "reason": "数据延迟"})
    score.refresh_from_db()
    assert (score.override_value, score.override_reason) == (D("70"), "数据延迟")


def test_submit_requires_completeness_then_approve_and_reopen(
    client, office, other_office, office_manager, planner
):
    _company(office, other_office, 1)
    office_round = _round(office)
    client.force_login(office_manager)
    client.post(reverse("scoring:round_action", args=[office_round.pk, "submit"]))
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.OPEN
    fill_manual(office=office)
    # approving straight from open is refused; submitting needs the chair and the meeting date
    client.post(reverse("scoring:round_action", args=[office_round.pk, "approve"]))
    client.post(reverse("scoring:round_action", args=[office_round.pk, "submit"]))
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.OPEN
    client.post(
        reverse("scoring:round", args=[office_round.pk]),
        {"meeting_date": "2026-10-09", "chair": office_manager.pk},
    )
    client.post(reverse("scoring:round_action", args=[office_round.pk, "submit"]))
    client.post(reverse("scoring:round_action", args=[office_round.pk, "approve"]))
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.APPROVED
    # an approved round is locked for the office manager, reopened only by sales planning with a reason
    assert (
        client.post(
            reverse("scoring:round_action", args=[office_round.pk, "reopen"]), {"reason": "x"}
        ).status_code
        == 404
    )
    client.force_login(planner)
    client.post(reverse("scoring:round_action", args=[office_round.pk, "reopen"]), {"reason": ""})
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.APPROVED
    client.post(reverse("scoring:round_action", args=[office_round.pk, "reopen"]), {"reason": "评分有误"})
    office_round.refresh_from_db()
    assert office_round.status == RoundStatus.OPEN
    assert office_round.reopenings.get().reason == "评分有误"


def _png(size=(4, 4)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_photo_evidence_accepts_images_only(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    client.force_login(office_manager)
    score = Score.objects.get(sheet__dealer__code="E000", indicator__code="store_display")
    url = reverse("scoring:sheet", args=[score.sheet_id])
    fake = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client.post(
        url, {"score": score.pk, f"e{score.pk}-comment": "样品齐全", f"e{score.pk}-photo": fake}
    )
    assert response.status_code == 400
    score.refresh_from_db()
    assert not score.photo and score.comment == ""
    real = SimpleUploadedFile("x.png", _png(), content_type="image/png")
    client.post(url, {"score": score.pk, f"e{score.pk}-comment": "样品齐全", f"e{score.pk}-photo": real})
    score.refresh_from_db()
    assert score.photo and score.comment == "样品齐全"


def test_photo_evidence_is_size_limited(client, office, other_office, office_manager, monkeypatch):
    _company(office, other_office, 1)
    monkeypatch.setattr("scoring.models.PHOTO_MAX_BYTES", 10)
    client.force_login(office_manager)
    score = Score.objects.get(sheet__dealer__code="E000", indicator__code="store_display")
    real = SimpleUploadedFile("x.png", _png(), content_type="image/png")
    response = client.post(
        reverse("scoring:sheet", args=[score.sheet_id]), {"score": score.pk, f"e{score.pk}-photo": real}
    )
    assert response.status_code == 400
    assert "5 MB" in response.content.decode() or "5 MB" in response.content.decode("utf-8")


def test_planner_overrides_and_publishes_from_the_abc_list(client, office, other_office, planner):
    _company(office, other_office, 1)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    grade = Grade.objects.get(dealer__code="E000")
    client.post(
        reverse("scoring:grade_override", args=[grade.pk]), {"final_class": "C", "reason": "回款逾期"}
    )
    grade.refresh_from_db()
    assert (grade.final_class, grade.overridden, grade.override_reason) == ("C", True, "回款逾期")
    html = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "overridden": "on"}).content.decode()
    assert "E000" in html and "L000" not in html
    client.post(reverse("scoring:publish"), {"quarter": "2026Q3"})
    response = client.get(reverse("scoring:abc_export"), {"quarter": "2026Q3", "format": "xlsx"})
    assert response.content[:2] == b"PK"


def test_planner_starts_a_regrade_from_the_web_and_polls_its_status(client, office, other_office, planner):
    _company(office, other_office, 1)
    client.force_login(planner)
    response = client.post(reverse("scoring:job_start"), {"quarter": "2026Q3", "action": "regrade"})
    assert response.status_code == 302
    status = client.get(reverse("scoring:job_status", args=["2026Q3"])).json()
    assert (status["status"], status["offices_done"], status["offices_total"]) == ("graded", 2, 2)
    assert Grade.objects.count() == 3
    assert Notification.objects.filter(user=planner, key="scoring:graded:2026Q3").exists()


def test_office_manager_cannot_start_jobs(client, office, office_manager):
    client.force_login(office_manager)
    assert (
        client.post(reverse("scoring:job_start"), {"quarter": "2026Q3", "action": "regrade"}).status_code
        == 404
    )


def test_dashboard_shows_progress_and_customer_file_shows_history(
    client, office, other_office, office_manager
):
    _company(office, other_office, 2)
    fill_manual(dealer=ScoreSheet.objects.get(dealer__code="E000").dealer)
    client.force_login(office_manager)
    html = client.get(reverse("dashboard")).content.decode()
    assert "1 / 4" in html
    approve()
    services.regrade_quarter(quarter=Q3)
    dealer = DealerFactory._meta.model.objects.get(code="E000")
    request = RequestFactory().get("/")
    request.user = office_manager
    section = quarterly_history(request, dealer)
    html = render_to_string(section["template"], {"section": section})
    assert 'data-testid="quarterly-history"' in html and "2026Q3" in html and "80.00" in html
    assert section["rows"][0]["grade"].final_class == "B"


def test_office_manager_imports_scores_in_the_browser_with_a_preview(
    client, office, other_office, office_manager
):
    # given
    _company(office, other_office, 1)
    client.force_login(office_manager)
    content = "经销商编码,季度,指标,得分\nE000,2026Q3,价格维护,77.5\nX001,2026Q3,价格维护,60\n".encode()
    upload = SimpleUploadedFile("scores.csv", content, content_type="text/csv")
    # when
    response = client.post(reverse("scoring:import"), {"file": upload})
    # then another office's dealer is refused and nothing is saved
    assert response.status_code == 200
    assert "X001" in response.content.decode()
    assert not Score.objects.filter(indicator__code="price_discipline", value__isnull=False).exists()


def test_a_tampered_grid_post_saves_nothing_and_does_not_fail(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    client.force_login(office_manager)
    office_round = _round(office)
    response = client.post(
        reverse("scoring:grid", args=[office_round.pk]), {"v-x": "1", "s-1-2-3": "5", "v-9": "a"}
    )
    assert response.status_code == 302
    assert not Score.objects.filter(computed=False, value__isnull=False).exists()


def test_override_redirects_only_within_the_site(client, office, other_office, office_manager):
    _company(office, other_office, 1)
    client.force_login(office_manager)
    score = Score.objects.get(sheet__dealer__code="E000", indicator__code="sales_volume")
    response = client.post(
        reverse("scoring:score_override", args=[score.pk]),
        {"value": "70", "reason": "数据延迟", "next": "https://evil.example.com/"},
    )
    assert response["Location"] == reverse("scoring:grid", args=[score.sheet.round_id])


def test_abc_chart_counts_final_classes_per_office_and_follows_overrides(
    client, office, other_office, planner
):
    # given SH: E000 and L000, BJ: X001, all graded
    _company(office, other_office, 1)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(planner)
    response = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"})
    before = response.context["chart"]
    assert response.context["page"].paginator.count == 3
    filtered = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3", "q": "E000"})
    assert filtered.context["page"].paginator.count == 1
    grade = Grade.objects.get(dealer__code="E000")
    new_class = "C" if grade.final_class != "C" else "A"
    # when
    services.override_class(grade=grade, final_class=new_class, reason="复核", user=planner)
    after = client.get(reverse("scoring:abc_list"), {"quarter": "2026Q3"}).context["chart"]
    # then
    assert before["labels"] == after["labels"] == ["北京办事处", "上海办事处"]
    assert sum(before["series"][c][1] for c in "ABC") == 2
    assert after["series"][new_class][1] == before["series"][new_class][1] + 1
    # and the table under the chart gives counts and shares per office and for all
    table = response.context["class_table"]
    assert [row["office"] for row in table] == ["北京办事处", "上海办事处", "全部办事处"]
    assert [row["total"] for row in table] == [1, 2, 3]
    assert sum(count for count, _share in table[1]["cells"]) == 2
    assert {share for _count, share in table[1]["cells"]} <= {D("0.0"), D("50.0"), D("100.0")}


def test_an_approved_sheet_reads_as_text_and_says_when_there_is_no_comment(
    client, office, other_office, office_manager
):
    # given an approved round whose sheets carry no comments
    _company(office, other_office, 1)
    approve(office=office)
    sheet = ScoreSheet.objects.get(dealer__code="E000")
    client.force_login(office_manager)

    # when the sheet is opened
    html = client.get(reverse("scoring:sheet", args=[sheet.pk])).content.decode()

    # then there is no locked-looking input, and the empty comment is said so
    assert 'name="sheet_comment"' not in html
    assert 'data-testid="sheet-comment"' in html and "暂无评语" in html


@pytest.mark.parametrize("offices", [2, 60])
def test_the_round_list_pages_and_filters_by_quarter_with_few_queries(
    client, planner, offices, django_assert_max_num_queries
):
    # given rounds of two quarters in many offices
    from dealers.tests.factories import OfficeFactory

    for i in range(offices):
        office = OfficeFactory(code=f"O{i:03d}", name=f"办事处{i}")
        for quarter in ("2026Q2", "2026Q3"):
            EvaluationRound.objects.create(office=office, quarter=quarter)
    client.force_login(planner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    # when
    with django_assert_max_num_queries(13):
        everything = client.get(reverse("scoring:rounds")).text
    one_quarter = client.get(reverse("scoring:rounds"), {"quarter": "2026Q2", "page": "2"}).text
    nonsense = client.get(reverse("scoring:rounds"), {"quarter": "<script>", "page": "x"})
    # then
    rows = everything.count('href="/evaluation/rounds/') // 2
    assert rows == min(2 * offices, 50)
    assert ("Page 1 of 3" in everything) == (offices == 60)
    if offices == 60:
        assert "2026Q3" not in one_quarter.split('data-testid="round-table"')[1]
        assert one_quarter.count('href="/evaluation/rounds/') // 2 == 10
        assert "?quarter=2026Q2&page=1" in one_quarter
    assert nonsense.status_code == 200 and "<script>" not in nonsense.text
