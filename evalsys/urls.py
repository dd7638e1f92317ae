from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from dealers import views as dealer_views

urlpatterns = [
    path("", dealer_views.dashboard, name="dashboard"),
    path("healthz", dealer_views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("dealers.urls")),
    path("", include("dealers.targets.urls")),
    path("", include("scoring.urls")),
    path("", include("scoring.followup.urls")),
    path("", include("scoring.insight.urls")),
    path("", include("networks.urls")),
]
