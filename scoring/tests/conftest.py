import importlib

import pytest
from django.apps import apps


@pytest.fixture
def catalogue(transactional_db):
    """The indicator catalogue of the data migration, for tests on a flushed transactional database."""
    from scoring.models import Indicator

    if not Indicator.objects.exists():
        importlib.import_module("scoring.migrations.0002_catalogue").seed(apps, None)
