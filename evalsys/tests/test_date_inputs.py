"""Browsers only accept yyyy-mm-dd in <input type=date>, whatever the page's language."""

import datetime

import pytest
from django.utils import translation

from networks.forms import ChurnReportForm, VisitForm
from scoring.views import CommitteeForm


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_date_inputs_render_iso_dates_in_every_language(language):
    day = datetime.date(2026, 11, 9)
    with translation.override(language):
        # given the forms with a date input, each with a date filled in
        churn = ChurnReportForm(dealer=type("D", (), {"churned_on": None})(), initial={"churned_on": day})
        visit = VisitForm(dealers=None, initial={"date": day})
        committee = CommitteeForm.base_fields["meeting_date"].widget
        # when they are rendered
        rendered = [
            str(churn["churned_on"]),
            visit.fields["date"].widget.render("date", day),
            committee.render("meeting_date", day),
        ]
    # then the value is ISO
    for html in rendered:
        assert 'value="2026-11-09"' in html, html
