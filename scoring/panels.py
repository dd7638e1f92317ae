"""The dashboard panel and customer-file section of the scoring app."""

from collections import defaultdict

from evalsys.fragments import fragment_digest

from .models import ClassBenefit, EvaluationRound, Grade, GradingStatus, Indicator, QuarterGrading, Score
from .services import progress_by_round


def evaluation_progress(request):
    """ "37 / 52 dealers complete" for each visible round of the latest quarter."""
    rounds = EvaluationRound.objects.visible_to(request.user)
    latest = rounds.order_by("-quarter").values_list("quarter", flat=True).first()
    if latest is None:
        return None
    rounds = list(rounds.filter(quarter=latest).select_related("office").order_by("office__code"))
    progress = progress_by_round(rounds=rounds)
    for r in rounds:
        r.complete, r.total = progress.get(r.pk, (0, 0))
        r.missing = r.total - r.complete
    panel = {"template": "scoring/panels/progress.html", "quarter": latest, "rounds": rounds}
    # rendered once per content (evalsys.fragments): every office's round for the company roles
    panel["digest"] = fragment_digest(panel)
    return panel


def quarterly_history(request, dealer):
    """The dealer's grades by quarter with the scores behind them."""
    grades = list(
        Grade.objects.filter(dealer=dealer).select_related("overridden_by").order_by("-quarter")[:40]
    )
    scores = defaultdict(dict)
    for quarter, indicator_id, value, override in Score.objects.filter(sheet__dealer=dealer).values_list(
        "sheet__round__quarter", "indicator_id", "value", "override_value"
    ):
        scores[quarter][indicator_id] = (override if override is not None else value, override is not None)
    used = {i for per_quarter in scores.values() for i in per_quarter}
    indicators = [i for i in Indicator.objects.all() if i.pk in used]
    rows = []
    for grade in grades:
        quarter_scores = scores.get(grade.quarter, {})
        rows.append({"grade": grade, "scores": [quarter_scores.get(i.pk) for i in indicators]})
    if not rows:
        return None
    published = set(
        QuarterGrading.objects.filter(
            quarter__in=[g.quarter for g in grades], status=GradingStatus.PUBLISHED
        ).values_list("quarter", flat=True)
    )
    for row in rows:
        row["published"] = row["grade"].quarter in published
    benefits = {b.grade_class: b.description for b in ClassBenefit.objects.all()}
    return {
        "current_published": rows[0]["published"],
        "template": "scoring/panels/history.html",
        "rows": rows,
        "indicators": indicators,
        "benefit": benefits.get(grades[0].final_class),
        "current": grades[0],
        # the class across quarters, oldest first (DESIGN.md §5a, class movements)
        "classes": [(g.quarter, g.final_class, g.change) for g in grades[:12]][::-1],
    }
