"""The ABC list as DESIGN.md §6.2 exports it."""

from .models import Grade

ABC_COLUMNS = [
    "quarter",
    "dealer",
    "name",
    "office",
    "kind",
    "total",
    "office_rank",
    "company_rank",
    "computed_class",
    "final_class",
    "previous_class",
    "change",
    "overridden",
    "evaluated",
]


def abc_rows(grades):
    """One row per grade (= per dealer in the network at quarter end), by dealer code."""
    rows = (
        grades.order_by("dealer__code")
        .values_list(
            "quarter",
            "dealer__code",
            "dealer__name",
            "office__code",
            "kind",
            "total",
            "office_rank",
            "company_rank",
            "computed_class",
            "final_class",
            "previous_class",
            "change",
            "overridden",
            "evaluated",
        )
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield [value if value != "" else None for value in row]


def quarter_grades(quarter):
    return Grade.objects.filter(quarter=str(quarter))
