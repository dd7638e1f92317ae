from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealersConfig(AppConfig):
    name = "dealers"
    verbose_name = _("Dealers")

    def ready(self):
        from . import demo, panels
        from .plugins import customer_file_sections, dashboard_panels, demo_seeders, register_role_flag
        from .roles import IMPORT_ROLES
        from .targets import demo as targets_demo
        from .targets import panels as targets_panels
        from .targets import services as targets

        dashboard_panels.register(10, panels.dealer_counts)
        dashboard_panels.register(20, targets_panels.targets_panel)
        dashboard_panels.register(30, targets_panels.sales_panel)
        customer_file_sections.register(10, panels.master_data)
        customer_file_sections.register(20, panels.dealer_history)
        customer_file_sections.register(30, targets_panels.agreement_section)
        customer_file_sections.register(40, targets_panels.trend_section)
        customer_file_sections.register(50, targets_panels.points_section)
        customer_file_sections.register(60, targets_panels.notes_section)
        register_role_flag("read_targets", targets.TARGET_READER_ROLES)
        register_role_flag("import_agreements", targets.AGREEMENT_IMPORT_ROLES)
        register_role_flag("import_sales", IMPORT_ROLES)
        register_role_flag("read_missing_sales", targets.MISSING_SALES_ROLES)
        demo_seeders.register(10, demo.seed_master_data, "offices, dealers and staff")
        demo_seeders.register(30, targets_demo.seed_targets, "agreements, targets, sales and points")
