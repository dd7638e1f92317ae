"""Run by test_sqlite.py in a subprocess against a temporary SQLite database: one office of
`--dealers` dealers opens, grades, imports scores for and publishes the quarter just ended.

Prints one line per step with the counts it checked; exits non-zero on any failure.
"""

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dealers", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsys.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    assert connection.vendor == "sqlite", connection.vendor
    call_command("migrate", verbosity=0)

    from dealers.models import Dealer, MonthlySales, MonthlyTarget, Office
    from evalsys.bulk import insert_rows
    from evalsys.periods import quarter_just_ended
    from scoring import services
    from scoring.imports import ScoreImporter
    from scoring.models import EvaluationRound, Grade, Score, ScoreSheet

    quarter = quarter_just_ended()
    office = Office.objects.create(code="SH", name="上海办事处")
    Dealer.objects.bulk_create(
        [
            Dealer(
                code=f"SH{i:05d}",
                name=f"经销商{i}",
                kind="exclusive" if i % 3 else "logistics",
                office=office,
                joined=datetime.date(2020, 1, 1),
            )
            for i in range(args.dealers)
        ],
        batch_size=500,
    )
    ids = list(Dealer.objects.values_list("pk", flat=True))
    now = datetime.datetime.now(datetime.UTC)
    insert_rows(
        MonthlySales._meta.db_table,
        ["dealer_id", "month", "amount", "updated_at"],
        ((d, m, Decimal(1000 + d % 97), now) for d in ids for m in quarter.months),
    )
    MonthlyTarget.objects.bulk_create(
        [
            MonthlyTarget(dealer_id=d, month=m, status="agreed", agreed_amount=Decimal(1050))
            for d in ids
            for m in quarter.months
        ],
        batch_size=500,
    )

    started = time.monotonic()
    services.open_quarter(quarter=quarter)
    sheets = ScoreSheet.objects.count()
    assert sheets == args.dealers, sheets
    assert not Score.objects.filter(computed=True, value__isnull=True).exists()
    print(f"open: {sheets} sheets, computed indicators filled ({time.monotonic() - started:.1f} s)")

    # every manual score through the score import (all-or-nothing, on SQLite's parameter limits)
    manual = Score.objects.filter(computed=False).values_list("sheet__dealer__code", "indicator__code")
    lines = ["dealer,quarter,indicator,score"] + [f"{code},{quarter},{ind},80" for code, ind in manual]
    result = ScoreImporter().run("\n".join(lines).encode(), "scores.csv")
    assert result.saved, result.errors[:5]
    print(f"import_scores: {len(lines) - 1} scores")

    office_round = EvaluationRound.objects.get()
    EvaluationRound.objects.update(status="approved")
    started = time.monotonic()
    services.regrade_quarter(quarter=quarter)
    evaluated = Grade.objects.filter(quarter=str(quarter), evaluated=True).count()
    assert evaluated == args.dealers, evaluated
    print(f"grade: {evaluated} dealers evaluated ({time.monotonic() - started:.1f} s)")

    services.publish_quarter(quarter=quarter)
    print(f"publish: {quarter} of {office_round.office.code} published")
    return 0


if __name__ == "__main__":
    sys.exit(main())
