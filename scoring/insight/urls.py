from django.urls import path

from . import views

app_name = "insight"

urlpatterns = [
    path("insight/what-if/", views.what_if, name="whatif"),
    path("insight/what-if/export/", views.what_if_export, name="whatif_export"),
    path("insight/what-if/save/", views.what_if_save, name="whatif_save"),
    path("insight/calibration/", views.calibration, name="calibration"),
    path("insight/calibration/export/", views.calibration_export, name="calibration_export"),
    path("insight/movements/", views.movements, name="movements"),
    path("insight/movements/export/", views.movements_export, name="movements_export"),
]
