"""The smaller things office staff noticed: previews with old → new and labels, the month after a
sales import, an unpublished class marked, the committee with real names, admin captions and wording."""

import datetime
import re
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dealers.models import DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory, SalesFactory
from scoring import services
from scoring.models import EvaluationRound, GradingStatus, QuarterGrading, WeightScheme
from scoring.tests.factories import Q3, approve, dealer_with_sales, fill_manual

pytestmark = pytest.mark.django_db


def test_the_dealer_preview_shows_old_and_new_and_labels_not_codes(client, office, statistician):
    DealerFactory(
        code="SH1", name="旧名称", office=office, kind=DealerKind.EXCLUSIVE, status=DealerStatus.ACTIVE
    )
    client.force_login(statistician)
    content = "code,name,kind,office,joined,status\nSH1,新名称,物流,SH,2020-01-01,正常\n".encode()
    response = client.post("/dealers/import/", {"file": SimpleUploadedFile("d.csv", content)})
    html = response.content.decode()
    assert '<span class="diff-old">旧名称</span> → <span class="diff-new">新名称</span>' in html
    assert '<span class="diff-old">专营经销商</span> → <span class="diff-new">物流商</span>' in html
    assert "<td>正常</td>" in html and ">active<" not in html and ">exclusive<" not in html


@pytest.mark.django_db
def test_a_changed_sales_figure_shows_both_and_the_statistician_lands_on_that_month(
    client, office, statistician
):
    dealer = DealerFactory(code="SH1", office=office)
    SalesFactory(dealer=dealer, month=datetime.date(2026, 8, 1), amount=D("1000"))
    client.force_login(statistician)
    content = b"dealer,month,amount\nSH1,2026-08,1200\n"
    preview = client.post("/sales/import/", {"file": SimpleUploadedFile("s.csv", content)})
    html = preview.content.decode()
    assert 'class="diff-old">1000.00</span> → <span class="diff-new">1200.00' in html
    token = preview.context["token"]
    done = client.post("/sales/import/", {"token": token})
    assert done["Location"] == "/sales/missing/?month=2026-08"


def test_the_customer_file_marks_a_class_of_an_unpublished_quarter(client, office, office_manager):
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    client.force_login(office_manager)
    html = client.get("/dealers/E1/").content.decode()
    assert 'data-testid="class-unpublished"' in html and "未发布" in html
    QuarterGrading.objects.filter(quarter=str(Q3)).update(status=GradingStatus.PUBLISHED)
    assert "未发布" not in client.get("/dealers/E1/").content.decode()


def test_the_committee_form_names_people_by_their_names(client, office, office_manager, make_staff):
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    colleague = make_staff("bm7", "business_manager", office=office)
    colleague.first_name, colleague.last_name = "伟", "王"
    colleague.save()
    client.force_login(office_manager)
    html = client.get(reverse("scoring:round", args=[EvaluationRound.objects.get().pk])).content.decode()
    assert "王伟" in html or "伟 王" in html
    assert 'data-testid="committee-form"' in html and "mb-3" in html  # crispy's Bootstrap layout


def test_the_admin_captions_weight_rows_with_indicator_names(admin_client):
    scheme = WeightScheme.objects.filter(kind="exclusive").first()
    html = admin_client.get(f"/admin/scoring/weightscheme/{scheme.pk}/change/").content.decode()
    # each existing row is captioned (Django's td.original) with its indicator's name, not its code
    assert re.search(r'<td class="original">\s*<p>\s*卖场布置与样品展示', html), html
    assert "store_display " not in html


def test_the_admin_change_link_reads_djangos_own_word(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "修改" in html and "变化" not in html


def test_an_approved_round_with_unevaluated_dealers_is_worded_as_such(client, office, make_staff):
    dealer_with_sales(office=office, code="E1")
    dealer_with_sales(office=office, code="E2")
    services.open_quarter(quarter=Q3)
    fill_manual(dealer=DealerFactory._meta.model.objects.get(code="E1"))
    approve()
    supervisor = make_staff("is", "internal_supervisor", office=office)
    client.force_login(supervisor)
    html = client.get("/").content.decode()
    assert "2 家中 1 家已评分，1 家未评估" in html
    assert "1 / 2" not in html
