from django.urls import path

from . import views

app_name = "targets"

urlpatterns = [
    path("targets/", views.next_month_targets, name="next_month"),
    path("targets/attainment/", views.attainment_page, name="attainment"),
    path("targets/points.csv", views.points_export, name="points_export"),
    path("targets/import/", views.target_import, name="target_import"),
    path("targets/agreements/import/", views.agreement_import, name="agreement_import"),
    path("targets/<str:code>/<str:month>/", views.target_step, name="step"),
    path("targets/<str:code>/<str:month>/correct/", views.target_correction, name="correct"),
    path("targets/notes/<str:code>/<str:quarter>/", views.quarter_note, name="quarter_note"),
    path("sales/import/", views.sales_import, name="sales_import"),
    path("sales/missing/", views.missing_sales, name="missing_sales"),
]
