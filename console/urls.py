"""Top-level URL map: probes, console pages, REST API, OpenAPI docs, admin, auth, language switch."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from console import health
from policies.views import assets

handler500 = "console.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # NB: the language switch must work on the login page too, before anyone is signed in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/v1/", include("policies.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("favicon.ico", assets.favicon, name="favicon"),
    path("", include("policies.urls")),
]
