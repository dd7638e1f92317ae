from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworksConfig(AppConfig):
    name = "networks"
    verbose_name = _("Dealer networks")

    def ready(self):
        from dealers.plugins import customer_file_sections, dashboard_panels, demo_seeders, register_role_flag

        from . import demo, panels, views

        register_role_flag("log_visit", views.VISIT_ROLES)

        dashboard_panels.register(50, panels.visit_reminder)
        dashboard_panels.register(60, panels.churn_worklist)
        dashboard_panels.register(65, panels.suspected_churn)
        dashboard_panels.register(70, panels.summary_status)
        dashboard_panels.register(80, panels.audit_status)
        customer_file_sections.register(80, panels.dealer_visits)
        customer_file_sections.register(90, panels.dealer_churn)
        # Joiners and leavers before the targets and grades that depend on who is in the network.
        demo_seeders.register(20, demo.seed_network_changes, "dealers joining and leaving")
        demo_seeders.register(50, demo.seed_network_demo, "visits, churn reports, audits and summaries")
