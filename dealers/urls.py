from django.urls import path

from . import views

app_name = "dealers"

urlpatterns = [
    path("dealers/", views.dealer_list, name="list"),
    path("dealers/export/", views.dealer_export, name="export"),
    path("dealers/import/", views.dealer_import, name="import"),
    path("dealers/<str:code>/", views.customer_file, name="customer_file"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
