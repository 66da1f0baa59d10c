"""What every API view shares: JSON or YAML in and out, and the 1 MiB body limit.

The limit is checked on ``Content-Length`` in ``initial()``, i.e. after authentication and
before any parser touches the body; the parsers enforce it again while reading, for bodies that
under-declare their length.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from policies.api.authentication import CompiledTokenAuthentication
from policies.api.errors import RequestTooLargeError
from policies.api.parsers import BoundedJSONParser, YAMLParser, YAMLRenderer, mapping_body
from policies.core.yamlio import MAX_INPUT_BYTES

__all__ = ["ApiViewMixin", "MappingBodyMixin", "NotFoundView", "declared_length", "mapping_body"]


class AcceptHeaderNegotiation(DefaultContentNegotiation):
    """Choose the response format from ``Accept`` only: ``?format=`` is an ordinary query string.

    The choice depends on nothing but the view's renderer classes and the ``Accept`` header,
    and the usual headers (none, ``*/*``, ``application/yaml``...) repeat on every request of
    a client, so it is memoised per process for headers of ordinary length; a long header is
    negotiated afresh each time, so clients cannot fill the memo with large strings.
    """

    # NB: the ignores below: DRF reads only URL_FORMAT_OVERRIDE from these settings, and it always passes
    # select_renderer the view's renderer list, which is indexed here (the stubs promise only an Iterable).
    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> Any:  # type: ignore[override]
        accept = request.META.get("HTTP_ACCEPT")
        if format_suffix is not None or (accept is not None and len(accept) > MEMOISED_ACCEPT_LENGTH):
            return super().select_renderer(request, renderers, format_suffix)
        index, media_type = _negotiated(tuple(type(renderer) for renderer in renderers), accept)
        return renderers[index], media_type


MEMOISED_ACCEPT_LENGTH = 256


@lru_cache(maxsize=256)
def _negotiated(renderer_classes: tuple[type, ...], accept: str | None) -> tuple[int, str]:
    """(index of the chosen renderer, accepted media type) as DRF negotiates them."""
    renderers = [renderer_class() for renderer_class in renderer_classes]
    headers = {} if accept is None else {"accept": accept}
    stand_in = SimpleNamespace(query_params={}, headers=headers)  # NB: all of the request DRF's negotiation reads
    negotiation = AcceptHeaderNegotiation()
    chosen, media_type = DefaultContentNegotiation.select_renderer(negotiation, stand_in, renderers)  # type: ignore[arg-type]
    return next(index for index, renderer in enumerate(renderers) if renderer is chosen), media_type


if TYPE_CHECKING:  # NB: the mixin is always combined with an APIView; the checker sees it as a generic one.
    _ApiViewBase = GenericAPIView[Any]
else:
    _ApiViewBase = object


class ApiViewMixin(_ApiViewBase):
    """Authentication, parsers, renderers, content negotiation and the body-size guard of the API."""

    authentication_classes: Sequence[type[BaseAuthentication]] = [CompiledTokenAuthentication, SessionAuthentication]
    parser_classes: Sequence[type[BaseParser]] = [BoundedJSONParser, YAMLParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer, YAMLRenderer]
    content_negotiation_class: type[BaseContentNegotiation] = AcceptHeaderNegotiation

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if declared_length(request) > MAX_INPUT_BYTES:
            raise RequestTooLargeError(_("The body is over the limit of %(limit)d bytes.") % {"limit": MAX_INPUT_BYTES})

    def get_object(self) -> Any:
        """The addressed object, or a 404 that names what was looked for."""
        try:
            return super().get_object()
        except Http404 as exc:
            raise self.not_found() from exc

    def not_found(self) -> NotFound:
        """The 404 of the addressed object, naming what was looked for."""
        lookup = self.lookup_url_kwarg or self.lookup_field
        return NotFound(
            _("No %(model)s with %(field)s %(value)s.")
            % {
                "model": self.get_queryset().model._meta.verbose_name,
                "field": self.lookup_field,
                "value": self.kwargs.get(lookup),
            }
        )


class MappingBodyMixin(_ApiViewBase):
    """A model viewset whose serializers read the body as one mapping: a list or a scalar is a 400, not a 500."""

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer[Any]:
        if "data" in kwargs:
            kwargs["data"] = mapping_body(self.request)
        return super().get_serializer(*args, **kwargs)


def declared_length(request: Request) -> int:
    """The body length the client declared (0 when absent or unreadable)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


@extend_schema(exclude=True)
class NotFoundView(ApiViewMixin, APIView):
    """Every unknown URL under ``/api/v1/``: a 404 in the API's error shape, not an HTML page."""

    def dispatch_unknown(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(_("No API endpoint at %(path)s (endpoint URLs end with a slash).") % {"path": request.path})

    get = post = put = patch = delete = head = options = dispatch_unknown
