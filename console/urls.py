"""Top-level URL map: probes, console pages, REST API, OpenAPI docs, admin, auth, language switch."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from console import health
from policies.views import assets

handler500 = "console.errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(extra_context={"sso": settings.OIDC_ENABLED}), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # NB: the language switch must work on the login page too, before anyone is signed in.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/v1/", include("policies.api.urls")),
    # NB: the schema and its docs page read no data and answer with the database down, so they are not
    # throttled (the throttles count in the database); the split view serves Swagger UI's start-up
    # script as a file, since the CSP allows no inline script.
    path("api/schema/", SpectacularAPIView.as_view(throttle_classes=[]), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="swagger_ui.html", throttle_classes=[]
        ),
        name="api-docs",
    ),
    path("favicon.ico", assets.favicon, name="favicon"),
    path("", include("policies.urls")),
]

if settings.OIDC_ENABLED:  # NB: single sign-on (README, "Single sign-on"); its views are reached signed out
    from mozilla_django_oidc import views as oidc_views

    urlpatterns += [
        path(
            "oidc/authenticate/",
            login_not_required(oidc_views.OIDCAuthenticationRequestView.as_view()),
            name="oidc_authentication_init",
        ),
        path(
            "oidc/callback/",
            login_not_required(oidc_views.OIDCAuthenticationCallbackView.as_view()),
            name="oidc_authentication_callback",
        ),
    ]
