"""Outgoing webhook: a JSON event on every review state change, delivered from the task queue.

``review_event`` is called by the workflow verbs inside their transaction: it stores a
``WebhookDelivery`` and enqueues its delivery with that transaction (``queue``), so a rolled-back
step sends nothing. Delivery runs in the worker: a non-2xx answer, a timeout or a
refused connection is logged (status and reason only: the URL may carry a token) and retried with
exponential backoff; after ``EGRESS_WEBHOOK_MAX_ATTEMPTS`` the delivery is abandoned. Nothing here
can fail or slow down the workflow step itself.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import task

from policies.models import Review, WebhookDelivery
from policies.queue import enqueue_with_transaction

logger = logging.getLogger(__name__)

EVENTS = ("submitted", "approved", "rejected", "withdrawn", "superseded", "apply_started", "applied", "failed")


def enabled() -> bool:
    """Whether ``EGRESS_WEBHOOK_URL`` is set."""
    return bool(getattr(settings, "EGRESS_WEBHOOK_URL", ""))


def state_changed(review: Review, *, user: Any = None, **details: Any) -> WebhookDelivery | None:
    """Queue the event for the state ``review`` has just reached (``in_review`` is ``review.submitted``)."""
    event = "submitted" if review.state == "in_review" else review.state
    return review_event(review, event, user=user, **details)


def review_event(review: Review, event: str, *, user: Any = None, **details: Any) -> WebhookDelivery | None:
    """Queue the event ``review.<event>`` about ``review`` (no-op without a webhook URL)."""
    if not enabled():
        return None
    assert event in EVENTS, event
    body = {
        "event": f"review.{event}",
        "occurredAt": timezone.now().isoformat(),
        "review": review.pk,
        "state": review.state,
        "policy": review.policy.name,
        "policyId": review.policy_id,
        "revision": review.revision.number,
        "contentHash": review.revision.content_hash,
        "actor": getattr(user, "username", "") or "",
        **details,
    }
    delivery = WebhookDelivery.objects.create(event=body)
    enqueue_with_transaction(deliver_webhook, delivery.pk)
    return delivery


@task()
def deliver_webhook(delivery_id: int) -> str:
    """Send one delivery; on failure count the attempt and enqueue the next with exponential backoff."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id, state=WebhookDelivery.State.PENDING).first()
    if delivery is None:
        return "gone"
    error = _post(delivery.event) if enabled() else "EGRESS_WEBHOOK_URL is not set"
    delivery.attempts += 1
    if not error:
        delivery.state, delivery.delivered_at, delivery.last_error = WebhookDelivery.State.DELIVERED, timezone.now(), ""
        delivery.save(update_fields=["state", "delivered_at", "last_error", "attempts"])
        return "delivered"
    delivery.last_error = error[:500]
    logger.warning("webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error)
    if delivery.attempts >= max_attempts():
        delivery.state, delivery.next_attempt_at = WebhookDelivery.State.ABANDONED, None
    else:
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
    delivery.save(update_fields=["state", "attempts", "last_error", "next_attempt_at"])
    if delivery.state == WebhookDelivery.State.PENDING:
        _enqueue_retry(delivery)
    return delivery.state


def retry(deliveries: QuerySet[WebhookDelivery]) -> int:
    """Send ``deliveries`` again from a fresh count of attempts (e.g. abandoned while the receiver was down)."""
    count = 0
    with transaction.atomic():
        for delivery in deliveries.select_for_update():
            delivery.state, delivery.attempts, delivery.next_attempt_at = WebhookDelivery.State.PENDING, 0, None
            delivery.save(update_fields=["state", "attempts", "next_attempt_at"])
            enqueue_with_transaction(deliver_webhook, delivery.pk)
            count += 1
    return count


def backoff(attempts: int) -> timedelta:
    """The wait before attempt ``attempts + 1``: base × 2^(attempts-1), at most an hour."""
    base = float(getattr(settings, "EGRESS_WEBHOOK_BACKOFF_SECONDS", 10))
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600))


def max_attempts() -> int:
    """Attempts before a delivery is abandoned (``EGRESS_WEBHOOK_MAX_ATTEMPTS``, default 8: about 40 minutes)."""
    return max(int(getattr(settings, "EGRESS_WEBHOOK_MAX_ATTEMPTS", 8)), 1)


def _enqueue_retry(delivery: WebhookDelivery) -> None:
    if not deliver_webhook.get_backend().supports_defer:
        # NB: the immediate backend has no scheduler; retrying in place would hold the request it runs in.
        logger.warning("webhook delivery %s will not be retried: the task backend cannot defer", delivery.pk)
        return
    deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)


def _post(event: dict[str, Any]) -> str:
    """POST the event; an empty string on a 2xx answer, else what went wrong (never the URL)."""
    if not settings.EGRESS_WEBHOOK_URL.startswith(("http://", "https://")):
        return "EGRESS_WEBHOOK_URL must be an http:// or https:// URL"
    timeout = float(getattr(settings, "EGRESS_WEBHOOK_TIMEOUT_SECONDS", 5))
    try:
        request = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
            settings.EGRESS_WEBHOOK_URL,
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "egress-console-webhook"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - see above
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{type(exc).__name__}: {type(reason).__name__ if not isinstance(reason, str) else reason}"
    except (ValueError, http.client.InvalidURL) as exc:
        # NB: a malformed URL (bad IPv6 brackets, a space, a control character): its message quotes the URL
        return f"{type(exc).__name__}: EGRESS_WEBHOOK_URL is not a valid URL"
    except http.client.HTTPException as exc:
        return f"{type(exc).__name__}: the receiver's answer is not HTTP"
    return "" if 200 <= status < 300 else f"HTTP {status}"
