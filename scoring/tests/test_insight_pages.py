"""The insight pages: what-if, calibration and class movements in the browser's requests (DESIGN.md §5a)."""

import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from dealers.tests.factories import OfficeFactory
from scoring import services
from scoring.models import Grade, WeightScheme

from .factories import Q3, approve, dealer_with_sales, fill_manual

MANUAL = ("store_display", "promotion_effort", "price_discipline", "relations_credit")


def grade_company(office, other_office, extra_offices=0, per_office=1):
    """E1 78 B, E2 58 C, E3 88 A in SH; E4 78 B in BJ; optionally more offices of `per_office` dealers."""
    dealer_with_sales(office=office, code="E1", sales=(100, 100, 100))
    dealer_with_sales(office=office, code="E2", sales=(50, 50, 50))
    dealer_with_sales(office=office, code="E3", sales=(200, 200, 200))
    dealer_with_sales(office=other_office, code="E4", sales=(100, 100, 100))
    for n in range(extra_offices):
        extra = OfficeFactory(code=f"X{n}")
        for m in range(per_office):
            dealer_with_sales(office=extra, code=f"X{n}-{m}")
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)


def draft(**weights):
    data = {"quarter": "2026Q3", "try": "1"}
    data.update({f"w-exclusive-{code}": str(w) for code, w in weights.items()})
    return data


NEW_WEIGHTS = draft(sales_attainment=60, sales_volume=0, **dict.fromkeys(MANUAL, 10))


@pytest.fixture
def graded(office, other_office):
    grade_company(office, other_office)


def test_the_what_if_page_lists_the_dealers_whose_class_would_change(client, graded, planner):
    client.force_login(planner)
    # when only the exclusive weights are given, the logistics scheme and the policy are those graded with
    page = client.get(reverse("insight:whatif"), NEW_WEIGHTS).content.decode()
    assert 'data-testid="changes"' in page and "E1" in page and "E4" in page and "E2 " not in page
    assert "92.00" in page
    # filtered to BJ
    page = client.get(reverse("insight:whatif"), {**NEW_WEIGHTS, "office": "BJ"}).content.decode()
    assert "E4" in page and "E1" not in page


def test_the_what_if_export_writes_the_changed_dealers(client, graded, planner):
    client.force_login(planner)
    response = client.get(reverse("insight:whatif_export"), NEW_WEIGHTS)
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("quarter,dealer,name,office,kind,total,draft_total,computed_class")
    assert [line.split(",")[1] for line in lines[1:]] == ["E1", "E4"]
    assert lines[1].split(",")[5:11] == ["78.00", "92.00", "B", "A", "B", "A"]
    report = client.get(reverse("insight:whatif_export"), {**NEW_WEIGHTS, "format": "report"})
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet.max_row == 3 and sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    "bad",
    [
        {"w-exclusive-sales_volume": "abc"},
        {"w-exclusive-sales_volume": "1e400"},
        {"w-exclusive-sales_volume": "-5"},
        {"band_a": "60", "band_b": "70", "method": "bands", "quota_a": "20", "quota_b": "30"},
        {"w-exclusive-sales_volume": "0", **{f"w-exclusive-{c}": "0" for c in ("sales_attainment", *MANUAL)}},
    ],
)
def test_a_bad_draft_is_a_message_not_an_error(client, graded, planner, bad):
    client.force_login(planner)
    response = client.get(reverse("insight:whatif"), {**NEW_WEIGHTS, **bad})
    assert response.status_code == 200
    assert 'data-testid="changes"' not in response.content.decode()
    assert "invalid-feedback" in response.content.decode() or "alert-danger" in response.content.decode()


def test_a_quarter_that_is_not_graded_is_404(client, graded, planner):
    client.force_login(planner)
    assert client.get(reverse("insight:whatif"), {"quarter": "2026Q4"}).status_code == 404
    assert client.get(reverse("insight:whatif"), {"quarter": "nonsense"}).status_code == 404


def test_the_what_if_page_takes_a_fixed_number_of_queries(
    client, office, other_office, planner, django_assert_max_num_queries
):
    grade_company(office, other_office, extra_offices=3, per_office=3)
    client.force_login(planner)
    with django_assert_max_num_queries(30):
        assert client.get(reverse("insight:whatif"), NEW_WEIGHTS).status_code == 200


@time_machine.travel("2026-11-20 10:00 +0800")
def test_sales_planning_cannot_save_a_draft_and_an_administrator_can(client, graded, planner, admin_user):
    schemes = WeightScheme.objects.count()
    save = {**NEW_WEIGHTS, "target": "scheme", "kind": "exclusive", "effective_from": "2027Q1"}
    # given sales planning without the admin's permission
    client.force_login(planner)
    assert client.post(reverse("insight:whatif_save"), save).status_code == 404
    # when the administrator saves a draft that does not add up to 100
    client.force_login(admin_user)
    response = client.post(
        reverse("insight:whatif_save"), {**save, "w-exclusive-sales_attainment": "59"}, follow=True
    )
    # then he is back on the what-if with his draft and a message, and nothing is saved
    assert WeightScheme.objects.count() == schemes
    assert response.redirect_chain[-1][0].startswith(reverse("insight:whatif"))
    assert "59" in response.redirect_chain[-1][0]
    assert "99" in response.content.decode()
    # when the draft adds up to 100
    response = client.post(reverse("insight:whatif_save"), save)
    scheme = WeightScheme.objects.get(kind="exclusive", effective_from="2027Q1")
    assert response.status_code == 302 and str(scheme.pk) in response["Location"]
    # and a GET of the save address is not a way in
    assert client.get(reverse("insight:whatif_save")).status_code == 404


def test_the_calibration_page_and_its_exports(client, graded, planner):
    client.force_login(planner)
    page = client.get(reverse("insight:calibration")).content.decode()
    assert "13.33" in page and "11.25" in page and "2.08" in page and "-6.25" in page
    csv = client.get(reverse("insight:calibration_export"), {"quarter": "2026Q3"}).content.decode("utf-8-sig")
    assert csv.splitlines()[0] == "quarter,office,dealers,manual_mean,computed_mean,gap,company_gap,deviation"
    report = client.get(reverse("insight:calibration_export"), {"quarter": "2026Q3", "format": "report"})
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert [c.value for c in sheet[2]][:3] == ["2026Q3", "北京办事处", 1]


def test_the_calibration_and_movement_pages_take_a_fixed_number_of_queries(
    client, office, other_office, planner, django_assert_max_num_queries
):
    grade_company(office, other_office, extra_offices=4, per_office=2)
    client.force_login(planner)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("insight:calibration")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("insight:movements")).status_code == 200


def test_an_office_sees_its_own_movements_and_planning_the_company(client, graded, office_manager, planner):
    # given E2 overridden from C to A
    services.override_class(
        grade=Grade.objects.get(dealer__code="E2"), final_class="A", reason="战略", user=planner
    )
    client.force_login(office_manager)
    page = client.get(reverse("insight:movements")).content.decode()
    assert page.count('data-testid="office-matrix"') == 1 and 'data-testid="company-matrix"' not in page
    rows = client.get(reverse("insight:movements_export"), {"quarter": "2026Q3"}).content.decode("utf-8-sig")
    assert rows.splitlines() == [
        "quarter,office,previous_class,final_class,dealers",
        "2026Q3,SH,,A,2",
        "2026Q3,SH,,B,1",
    ]
    client.force_login(planner)
    page = client.get(reverse("insight:movements")).content.decode()
    assert page.count('data-testid="office-matrix"') == 2 and 'data-testid="company-matrix"' in page


def test_the_movement_matrices_show_an_override_at_once(client, graded, planner):
    # the matrices are rendered once per content (evalsys.fragments): an override changes it
    client.force_login(planner)

    def company_matrix():
        page = client.get(reverse("insight:movements"), {"quarter": "2026Q3"}).content.decode()
        return page.split('data-testid="company-matrix"')[1].split("</table>")[0]

    before = company_matrix()
    assert before == company_matrix()
    services.override_class(
        grade=Grade.objects.get(dealer__code="E2"), final_class="A", reason="战略", user=planner
    )
    assert company_matrix() != before


def test_the_customer_file_shows_the_class_across_quarters(client, graded, planner):
    client.force_login(planner)
    page = client.get(reverse("dealers:customer_file", args=["E3"])).content.decode()
    assert 'data-testid="class-across-quarters"' in page and "2026Q3" in page
