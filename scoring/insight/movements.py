"""Class movements (DESIGN.md §5a): previous × final class per office, and classes over quarters.

Grading and every class override keep the quarter's counts on its
`QuarterGrading`, beside the class distribution, so the pages read one row
per quarter whatever the number of dealers.
"""

from django.db.models import Count

from evalsys.periods import Quarter

from ..models import Grade, QuarterGrading
from . import rules


def movement_counts(*, quarter: Quarter) -> dict:
    """{"<office id>": [[previous, final, n], …]} of the quarter's grades: one aggregate query."""
    counts = {}
    rows = (
        Grade.objects.filter(quarter=str(quarter))
        .values("office_id", "previous_class", "final_class")
        .annotate(n=Count("*"))
        .order_by("office_id", "previous_class", "final_class")
    )
    for row in rows:
        counts.setdefault(str(row["office_id"]), []).append(
            [row["previous_class"], row["final_class"], row["n"]]
        )
    return counts


def matrices(*, quarter: Quarter, office_ids) -> dict[int, dict[str, dict[str, int]]] | None:
    """The movement matrix of each of `office_ids` for a graded quarter; None when it is not graded."""
    grading = QuarterGrading.objects.filter(quarter=str(quarter)).only("movements", "status").first()
    if grading is None:
        return None
    counts = grading.movements or movement_counts(quarter=quarter)
    return {office_id: rules.movement_matrix(counts.get(str(office_id), [])) for office_id in office_ids}


def distributions(*, quarters: list[Quarter], office_ids) -> dict[int, list[dict[str, int]]]:
    """Each office's final classes over `quarters` (oldest first), as grading kept them: one query."""
    kept = dict(
        QuarterGrading.objects.filter(quarter__in=[str(q) for q in quarters]).values_list(
            "quarter", "distribution"
        )
    )
    empty = dict.fromkeys(rules.CLASS_KEYS, 0)
    return {
        office_id: [dict(empty, **(kept.get(str(q)) or {}).get(str(office_id), {})) for q in quarters]
        for office_id in office_ids
    }
