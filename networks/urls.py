from django.urls import path

from . import views

app_name = "networks"

urlpatterns = [
    path("network/visits/", views.visit_list, name="visits"),
    path("network/visits/new/", views.visit_create, name="visit_create"),
    path("network/visits/import/", views.visit_import, name="visit_import"),
    path("network/not-visited/", views.not_visited, name="not_visited"),
    path("network/churn/", views.churn_list, name="churn_list"),
    path("network/churn/<int:pk>/", views.churn_report, name="churn_report"),
    path("network/suspected-churn/", views.suspected_churn, name="suspected_churn"),
    path("network/dealers/<str:code>/churn/", views.churn_create, name="churn_create"),
    path("network/metrics/", views.office_metrics, name="office_metrics"),
    path("network/company/", views.company_metrics, name="company_metrics"),
    path("network/metrics/export/", views.metrics_export, name="metrics_export"),
    path("network/audits/", views.audit_list, name="audits"),
    path("network/audits/new/", views.audit_create, name="audit_create"),
    path("network/audits/<int:pk>/", views.audit_detail, name="audit"),
    path("network/summaries/", views.summary_list, name="summaries"),
    path("network/summaries/<str:office>/<str:quarter>/", views.summary, name="summary"),
]
