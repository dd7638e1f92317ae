from django.urls import path

from . import views

app_name = "followup"

urlpatterns = [
    path("support/", views.support_list, name="support"),
    path("support/new/", views.support_new, name="support_new"),
    path("support/import/", views.support_import, name="support_import"),
    path("support/export/", views.support_export, name="support_export"),
    path("support/report/", views.support_report, name="support_report"),
    path("support/report/export/", views.support_report_export, name="support_report_export"),
    path("watchlist/", views.watch_list, name="watchlist"),
    path("watchlist/export/", views.watchlist_export, name="watchlist_export"),
    path("watchlist/<int:pk>/", views.watch_entry, name="watch_entry"),
    path("watchlist/<int:pk>/plan/", views.watch_plan, name="watch_plan"),
    path("watchlist/<int:pk>/notes/", views.watch_note, name="watch_note"),
    path("watchlist/<int:pk>/decision/", views.watch_decide, name="watch_decide"),
    path("appeals/", views.appeal_list, name="appeals"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("appeals/<int:pk>/decision/", views.appeal_decide, name="appeal_decide"),
    path("abc/grades/<int:grade>/appeal/", views.appeal_create, name="appeal_create"),
]
