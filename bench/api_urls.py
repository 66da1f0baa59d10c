"""The product's URLs plus ``/bench/floor/``: a bare Django view, the framework floor of bench/api.py.

It lives here, not in the product, so the console never ships a benchmark endpoint.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path


@login_not_required
def floor(request):
    """The least a Django view can do behind the same middleware: answer a constant."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("console.urls")),
]
