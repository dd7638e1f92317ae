from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Quarterly evaluation")

    def ready(self):
        from dealers import freeze

        from .freeze import published_quarter_covering

        freeze.register(published_quarter_covering)
