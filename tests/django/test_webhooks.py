"""The outgoing webhook: an event per review state change, delivered from the task queue by a real worker
to a real HTTP server on 127.0.0.1 that fails twice and then accepts; retried with backoff, never in the way."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from policies import jobs, reviews
from policies.core.review import Role
from policies.models import Review, WebhookDelivery
from policies.webhooks import backoff
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db(transaction=True)


class FlakyReceiver(BaseHTTPRequestHandler):
    """Answers 503 to the first ``failures`` POSTs, then 204; keeps every body it was sent."""

    failures = 2
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        self.send_response(503 if len(type(self).bodies) <= type(self).failures else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver(settings: Any) -> Iterator[type[FlakyReceiver]]:
    handler = type("Receiver", (FlakyReceiver,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EGRESS_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook?token=s3cret-token"
    settings.EGRESS_WEBHOOK_BACKOFF_SECONDS = 0.05
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def run_worker_until(done: Any, timeout: float = 20) -> None:
    """Run the database worker (in batches: ready tasks only) until ``done()`` or the timeout."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)
        time.sleep(0.05)


def test_an_approval_is_delivered_after_two_failures_with_backoff(
    open_review: Review, receiver: Any, database_tasks: None, caplog: Any
) -> None:
    reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    delivery = WebhookDelivery.objects.get(event__event="review.approved")
    assert (delivery.state, delivery.attempts) == ("pending", 0)  # NB: the approval did not wait for it

    run_worker_until(lambda: WebhookDelivery.objects.get(pk=delivery.pk).state == "delivered")

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 3, "")
    assert [body["event"] for body in receiver.bodies] == ["review.approved"] * 3
    event = receiver.bodies[-1]
    assert (event["review"], event["state"], event["actor"]) == (open_review.pk, "approved", "approver")
    assert event["revision"] == 2
    assert event["contentHash"] == open_review.revision.content_hash
    assert "s3cret-token" not in caplog.text and "HTTP 503" in caplog.text


def test_backoff_doubles_and_a_delivery_is_abandoned_after_the_last_attempt(
    open_review: Review, receiver: Any, database_tasks: None, settings: Any
) -> None:
    settings.EGRESS_WEBHOOK_BACKOFF_SECONDS = 10
    receiver.failures = 100
    reviews.reject_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 9, 20)] == [10, 20, 40, 2560, 3600]

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", verbosity=0)

    delivery = WebhookDelivery.objects.get(event__event="review.rejected")
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert 9 < (delivery.next_attempt_at - delivery.created_at).total_seconds() < 12  # NB: the retry waits
    settings.EGRESS_WEBHOOK_MAX_ATTEMPTS = 2
    settings.EGRESS_WEBHOOK_BACKOFF_SECONDS = 0
    from policies.webhooks import deliver_webhook

    assert deliver_webhook.call(delivery.pk) == "abandoned"


def test_a_dead_receiver_never_blocks_or_fails_the_workflow(
    open_review: Review, settings: Any, immediate_tasks: None, fake_clusters: Any
) -> None:
    settings.EGRESS_WEBHOOK_URL = "http://127.0.0.1:9/hook"  # NB: the discard port: nothing listens
    operator = user_in_role(Role.OPERATOR.value, "operator")

    reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    jobs.start_apply(Review.objects.get(pk=open_review.pk), jobs.resolve_clusters(["a"]), target="istio",
                     dry_run=False, user=operator)  # fmt: skip

    assert Review.objects.get(pk=open_review.pk).state == "applied"
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event__event", "state", "attempts"))
    assert events == [
        ("review.approved", "pending", 1),
        ("review.apply_started", "pending", 1),
        ("review.applied", "pending", 1),
    ]
    assert WebhookDelivery.objects.filter(last_error__startswith="URLError").count() == 3


def test_a_refused_step_sends_nothing_and_no_url_means_no_events(
    open_review: Review, receiver: Any, database_tasks: None, settings: Any
) -> None:
    with pytest.raises(reviews.ReviewRefused):
        reviews.approve_review(open_review, user=open_review.author)
    assert WebhookDelivery.objects.count() == 0
    settings.EGRESS_WEBHOOK_URL = ""
    reviews.withdraw_review(open_review, user=open_review.author)
    assert WebhookDelivery.objects.count() == 0


def test_submission_supersession_and_withdrawal_are_events_too(
    reviewed_policy: Any, author: Any, receiver: Any, database_tasks: None
) -> None:
    from tests.fixtures.reviews import edit_port

    edit_port(reviewed_policy, 81, author)
    first = reviews.submit_review(reviewed_policy, user=author)
    reviews.approve_review(first, user=user_in_role(Role.APPROVER.value, "approver"))
    edit_port(reviewed_policy, 82, author)
    second = reviews.submit_review(reviewed_policy, user=author)
    reviews.withdraw_review(second, user=author)

    events = list(WebhookDelivery.objects.order_by("pk").values_list("event__event", "event__review"))
    assert events == [
        ("review.submitted", first.pk),
        ("review.approved", first.pk),
        ("review.superseded", first.pk),
        ("review.submitted", second.pk),
        ("review.withdrawn", second.pk),
    ]


def test_an_admin_sends_an_abandoned_delivery_again_from_the_django_admin(
    open_review: Review, receiver: Any, database_tasks: None, settings: Any
) -> None:
    # Given: a delivery abandoned while the receiver was down
    settings.EGRESS_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.failures = 1
    reviews.reject_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    run_worker_until(lambda: WebhookDelivery.objects.get().state == "abandoned")
    delivery = WebhookDelivery.objects.get()
    changelist = "/admin/policies/webhookdelivery/"
    operator, admin = Client(), Client()
    operator.force_login(user_in_role(Role.OPERATOR.value, "operator"))
    admin.force_login(user_in_role(Role.ADMIN.value, "admin"))

    # When: an admin selects it and sends it again (an operator may not even see the list)
    listed = admin.get(f"{changelist}?state=abandoned").content.decode()
    answer = admin.post(changelist, {"action": "retry_deliveries", "_selected_action": [delivery.pk]}, follow=True)
    run_worker_until(lambda: WebhookDelivery.objects.get().state == "delivered")

    # Then: it starts over and reaches the receiver, now up
    assert operator.get(changelist).status_code == 403
    assert f"/admin/policies/webhookdelivery/{delivery.pk}/change/" in listed
    assert "1 delivery queued again." in answer.content.decode()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 1)
    assert [body["event"] for body in receiver.bodies] == ["review.rejected"] * 2
