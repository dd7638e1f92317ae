import pytest

from dealers.imports import DealerImporter
from dealers.tests.factories import DealerFactory


@pytest.mark.django_db
def test_the_customer_file_shows_master_data_and_readable_history(
    client, office, other_office, planner, business_manager
):
    # given: a dealer moved to another office and renamed by an import
    dealer = DealerFactory(code="SH001", name="旧名称", office=office, business_manager=business_manager)
    csv = (
        "code,name,kind,office,joined,status,churned_on,business_manager\n"
        "SH001,新名称,logistics,BJ,2020-01-01,churned,2026-03-31,\n"
    )
    assert DealerImporter(user=planner).run(csv.encode(), "d.csv").saved
    client.force_login(planner)
    # when
    response = client.get(dealer.get_absolute_url())
    # then
    text = response.text
    assert "新名称" in text
    history = text.split('id="history"')[1]
    assert '名称: <span class="diff-old">旧名称</span> → <span class="diff-new">新名称</span>' in history
    assert 'SH 上海办事处</span> → <span class="diff-new">BJ 北京办事处' in history
    assert '专营经销商</span> → <span class="diff-new">物流商' in history
    assert 'bm</span> → <span class="diff-new">–' in history
    assert '–</span> → <span class="diff-new">2026-03-31' in history
    assert "planner" in history


@pytest.mark.django_db
def test_the_customer_file_queries_do_not_grow_with_its_history(
    client, office, office_manager, count_queries
):
    # given a dealer with one change, and one with thirty
    few, many = DealerFactory(office=office), DealerFactory(office=office)
    client.force_login(office_manager)
    client.get(few.get_absolute_url())  # warm per-session caches
    for n in range(30):
        many.name = f"名称{n}"
        many.save()
    # when
    queries_few, _ = count_queries(lambda: client.get(few.get_absolute_url()))
    queries_many, response = count_queries(lambda: client.get(many.get_absolute_url()))
    # then
    assert queries_many == queries_few
    assert "名称29" in response.text


@pytest.mark.django_db
def test_the_customer_file_has_a_print_button_and_hides_navigation_in_print(client, office, office_manager):
    dealer = DealerFactory(office=office)
    client.force_login(office_manager)
    text = client.get(dealer.get_absolute_url()).text
    # the button prints through evalsys.js (button[data-print])
    assert '<button type="button" class="btn btn-outline-secondary btn-sm d-print-none" data-print>' in text
    assert '<script src="/static/js/evalsys.js"></script>' in text
    assert 'class="navbar navbar-expand-lg navbar-dark bg-primary d-print-none"' in text
