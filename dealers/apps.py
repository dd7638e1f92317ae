from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealersConfig(AppConfig):
    name = "dealers"
    verbose_name = _("Dealers")

    def ready(self):
        from . import demo, panels
        from .plugins import customer_file_sections, dashboard_panels, demo_seeders
        from .targets import demo as targets_demo
        from .targets import panels as targets_panels

        dashboard_panels.register(10, panels.dealer_counts)
        dashboard_panels.register(20, targets_panels.targets_panel)
        dashboard_panels.register(30, targets_panels.sales_panel)
        customer_file_sections.register(10, panels.master_data)
        customer_file_sections.register(20, panels.dealer_history)
        customer_file_sections.register(30, targets_panels.agreement_section)
        customer_file_sections.register(40, targets_panels.trend_section)
        customer_file_sections.register(50, targets_panels.points_section)
        customer_file_sections.register(60, targets_panels.notes_section)
        demo_seeders.register(10, demo.seed_master_data, "offices, dealers and staff")
        demo_seeders.register(30, targets_demo.seed_targets, "agreements, targets, sales and points")
