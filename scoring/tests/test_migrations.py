"""scoring 0004-0011 are squashed: a fresh database runs the one squashed step."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

SQUASHED = ("scoring", "0004_grade_indexes")


@pytest.mark.django_db
def test_a_fresh_database_runs_the_squashed_migration_and_nothing_is_left_to_apply():
    executor = MigrationExecutor(connection)
    nodes = executor.loader.graph.nodes
    assert SQUASHED in nodes
    assert ("scoring", "0008_grade_config_no_db_constraint") not in nodes
    assert SQUASHED in executor.loader.applied_migrations
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_the_squash_replaces_exactly_0004_to_0011():
    from importlib import import_module

    migration = import_module("scoring.migrations.0004_grade_indexes").Migration
    assert [name for _app, name in migration.replaces] == [
        "0004_grade_distribution_index",
        "0005_grading_distribution",
        "0006_grade_fewer_indexes",
        "0007_historical_grade_fewer_indexes",
        "0008_grade_config_no_db_constraint",
        "0009_grade_config_db_constraint",
        "0010_score_fewer_indexes",
        "0011_grade_office_no_own_index",
    ]
