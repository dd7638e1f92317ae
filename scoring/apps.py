from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Quarterly evaluation")

    def ready(self):
        from dealers import freeze
        from dealers.plugins import customer_file_sections, dashboard_panels, demo_seeders

        from . import demo, panels
        from .followup import demo as followup_demo
        from .followup import panels as followup_panels
        from .freeze import published_quarter_covering

        freeze.register(published_quarter_covering)
        dashboard_panels.register(40, panels.evaluation_progress)
        dashboard_panels.register(45, followup_panels.followup_panel)
        customer_file_sections.register(70, panels.quarterly_history)
        customer_file_sections.register(75, followup_panels.dealer_followup)
        demo_seeders.register(40, demo.seed_graded_quarters, "eight graded quarters")
        demo_seeders.register(45, followup_demo.seed_followup, "support ledger, watch list and appeals")
