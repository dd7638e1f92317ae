import io

import pytest
import time_machine
from django.core.management import call_command

from dealers.models import Dealer, DealerStatus
from networks.models import ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Verification, Visit


@pytest.mark.django_db
def test_seed_demo_adds_network_data_once_with_churn_reports_in_every_state():
    # given
    with time_machine.travel("2026-09-15 10:00 +0800", tick=False):
        call_command("seed_demo", "--force", stdout=io.StringIO())
        counts = (Visit.objects.count(), ChurnReport.objects.count(), OfficeAudit.objects.count())
        # when
        call_command("seed_demo", "--force", stdout=io.StringIO())
    # then
    assert (Visit.objects.count(), ChurnReport.objects.count(), OfficeAudit.objects.count()) == counts
    assert counts[0] > 1000
    states = set(ChurnReport.objects.values_list("verification", flat=True))
    assert states == set(Verification.values)
    assert Dealer.objects.filter(status=DealerStatus.CHURNED, churn_report__isnull=True).exists()
    statuses = set(NetworkSummary.objects.filter(quarter="2026Q2").values_list("status", flat=True))
    assert statuses == set(SummaryStatus.values)
    assert NetworkSummary.objects.exclude(planning_comment="").exists()
