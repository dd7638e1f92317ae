"""The two ways a quarter is graded, behind one interface chosen once (`engine_for`).

- `SqlEngine` (PostgreSQL): a few set-wise statements per step (scoring/sql.py); a re-grade
  grades the whole company in one transaction, classes included.
- `PythonEngine` (SQLite, the demo): the rules of scoring/rules.py applied office by office.

On PostgreSQL a re-grade grades only the offices whose inputs changed since the last one
(`Engine.fingerprints`, `scoring.services.grading.plan_regrade`); the demo's Python engine
re-grades every office each time.

scoring/tests/test_sql_engine.py proves them equal. The services call the engine's
operations; none asks which engine it is.
"""

from django.db import connection, transaction

from . import services, sql
from .models import EvaluationRound


class Engine:
    """One grading run's engine: `stage` once, `grade_offices` per batch, `finish` once."""

    name = ""
    # Whether `grade_offices` over every office also ranks and classes the company (so that
    # `finish` has nothing left to do).
    classifies_company_wide = False

    def stage(self, *, quarter, inputs: str | None = None) -> None:
        """Compute the quarter's sales indicators once, company-wide, for the office steps.
        `inputs`: the hash of what staging reads, when the run has it (`fingerprints()["sales"]`)."""
        raise NotImplementedError

    def batches(self, office_ids: list[int]) -> list[list[int]]:
        """How a re-grade in one process splits the offices into transactions."""
        raise NotImplementedError

    def open_rounds(self, *, quarter, config, rounds: list[EvaluationRound]) -> None:
        """Sheets and computed indicators of the rounds being opened (each locked while written)."""
        raise NotImplementedError

    def grade_offices(
        self, *, quarter, config, rounds: list[EvaluationRound], company_wide: bool
    ) -> dict | None:
        """Totals, office ranks and (company-wide) classes of the locked rounds' offices.

        Returns the offices' calibration sums when the grading computed them on the way
        ({office id: (dealers, manual sum, manual count, computed sum, computed count)}, offices
        with no dealer evaluated left out); None: the finish reads them."""
        raise NotImplementedError

    def finish(self, *, quarter, config) -> None:
        """Company ranks, classes and changes of the quarter's grades."""
        raise NotImplementedError

    def fingerprints(self, *, quarter) -> dict | None:
        """What grading `quarter` reads, hashed ({"sales": h, "offices": {id: h}}), so that a re-grade
        grades only the offices whose inputs changed; None: this engine re-grades everything."""
        return None


class SqlEngine(Engine):
    name = "sql"
    classifies_company_wide = True

    def stage(self, *, quarter, inputs=None) -> None:
        with transaction.atomic():
            sql.stage_sales_scores(quarter=quarter, inputs=inputs)

    def batches(self, office_ids):
        return [office_ids]

    def open_rounds(self, *, quarter, config, rounds):
        with transaction.atomic():
            services._refuse_published(quarter, lock=True)
            locked = list(EvaluationRound.objects.select_for_update().filter(pk__in=[r.pk for r in rounds]))
            sql.ensure_sheets(quarter=quarter, config=config, rounds=[r for r in locked if not r.locked])
            sql.refresh_computed(quarter=quarter, rounds=locked)

    def grade_offices(self, *, quarter, config, rounds, company_wide):
        sql.ensure_sheets(
            quarter=quarter, config=config, rounds=[r for r in rounds if not r.locked], only_new=True
        )
        sql.refresh_computed(quarter=quarter, rounds=rounds)
        sql.remove_gone_grades(quarter=quarter, rounds=rounds)
        return sql.write_grades(quarter=quarter, rounds=rounds, config=config, company_wide=company_wide)

    def finish(self, *, quarter, config):
        sql.finish(quarter=quarter, policy=config.policy)

    def fingerprints(self, *, quarter):
        with transaction.atomic():
            return sql.input_fingerprints(quarter=quarter)


class PythonEngine(Engine):
    name = "python"

    def __init__(self):
        self._values = {}  # quarter -> computed indicators, computed once in this run

    def stage(self, *, quarter, inputs=None) -> None:
        """Nothing to store: the run computes the indicators when its first office needs them."""

    def _staged(self, quarter):
        if str(quarter) not in self._values:
            self._values[str(quarter)] = services.computed_scores(quarter)
        return self._values[str(quarter)]

    def batches(self, office_ids):
        return [[office_id] for office_id in office_ids]

    def open_rounds(self, *, quarter, config, rounds):
        values = self._staged(quarter)
        for office_round in rounds:
            with transaction.atomic():
                services._refuse_published(quarter, lock=True)
                office_round = EvaluationRound.objects.select_for_update().get(pk=office_round.pk)
                services.ensure_sheets(quarter=quarter, config=config, round=office_round)
                services.refresh_computed(round=office_round, values=values, config=config)

    def grade_offices(self, *, quarter, config, rounds, company_wide):
        values = self._staged(quarter)
        services.remove_gone_grades(quarter=quarter, office_ids=[r.office_id for r in rounds])
        for office_round in rounds:
            services.ensure_sheets(quarter=quarter, config=config, round=office_round)
            services.refresh_computed(round=office_round, values=values, config=config)
            services.write_office_grades(quarter=quarter, office_round=office_round, config=config)
        return None

    def finish(self, *, quarter, config):
        services.finish_in_python(quarter=quarter, config=config)


ENGINES = {engine.name: engine for engine in (SqlEngine, PythonEngine)}


def engine_for(choice: "Engine | str | None" = None) -> Engine:
    """The engine of this database (SQL on PostgreSQL, Python elsewhere), or the one named
    ("sql", "python": tests and the benchmark compare them), or `choice` itself."""
    if isinstance(choice, Engine):
        return choice
    name = choice or ("sql" if connection.vendor == "postgresql" else "python")
    return ENGINES[name]()
