from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Quarterly evaluation")

    def ready(self):
        from dealers.plugins import customer_file_sections, dashboard_panels, demo_seeders

        from . import demo, panels

        dashboard_panels.register(40, panels.evaluation_progress)
        customer_file_sections.register(70, panels.quarterly_history)
        demo_seeders.register(40, demo.seed_graded_quarters, "eight graded quarters")
