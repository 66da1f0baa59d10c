"""Optimistic concurrency over HTTP: the draft version as ``ETag``, checked via ``If-Match``.

The draft's ``version`` already guards concurrent edits in the service layer; this module only
translates it to and from HTTP headers (RFC 9110 §13.1.1), so a stale writer gets 412 and a
writer that did not say which version it edited gets 428 instead of silently overwriting.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.request import Request

from policies.api.errors import PreconditionFailedError, PreconditionRequiredError


def etag_for(version: int) -> str:
    """The strong entity tag of a draft version: the version number, quoted."""
    return f'"{version}"'


def expected_version(request: Request, current: int, *, required: bool = True) -> int:
    """The draft version the client edited, from ``If-Match``.

    Args:
        request: the incoming request.
        current: the draft's version now (what ``*`` stands for).
        required: whether a missing header is refused (428) or means "current".

    Returns:
        The version to pass to ``save_draft`` as ``expected_version``.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if required:
            raise PreconditionRequiredError(
                _("Send If-Match with the ETag of the draft you edited (GET the policy to read it)."), path="If-Match"
            )
        return current
    tags = [tag.strip() for tag in header.split(",")]
    if "*" in tags:
        return current
    if etag_for(current) in tags:
        return current
    raise PreconditionFailedError(_mismatch_message(tags, current, header.strip()[:40]), path="If-Match")


def _mismatch_message(tags: list[str], current: int, sent: str) -> str:
    """Why If-Match failed: a weak or unquoted form of the current tag is a client mistake, not a stale copy."""
    if f"W/{etag_for(current)}" in tags:
        return _(
            "If-Match %(sent)s is a weak entity tag, which never matches; send the ETag as returned: %(etag)s."
        ) % {
            "sent": sent,
            "etag": etag_for(current),
        }
    if str(current) in tags:
        return _("If-Match %(sent)s is not a quoted entity tag; send the ETag as returned: %(etag)s.") % {
            "sent": sent,
            "etag": etag_for(current),
        }
    return _(
        "The draft is now at version %(now)d; If-Match %(sent)s is stale. GET it again and reapply your change."
    ) % {"now": current, "sent": sent}


def optional_version(request: Request, current: int) -> int | None:
    """The draft version an optional ``If-Match`` names: None when absent or ``*`` (no condition).

    A stale tag is refused here already (412); the service re-checks under its row lock.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip() or "*" in (tag.strip() for tag in header.split(",")):
        return None
    return expected_version(request, current)
