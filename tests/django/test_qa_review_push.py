"""QA of review and push (issue 11) as a careless user and an attacker would drive it: the console's review
forms and filters, the apply panel and job pages, the clusters API's URLs, a locked database.

Every case asserts the house rule: a clear error naming the field, nothing half-written, never a 500.
NUL characters matter on PostgreSQL (its text cannot hold them, so an unchecked one is a DataError, a
500); the suite runs these on both databases.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError, connection
from django.test import Client

from policies import reviews
from policies.cluster.errors import ClusterError
from policies.cluster.records import connect_cluster
from policies.core.review import Role
from policies.models import ApplyJob, Approval, AuditEntry, Cluster, PolicyRevision, Review, WebhookDelivery
from policies.webhooks import deliver_webhook
from tests.fixtures.api import errors_of
from tests.fixtures.reviews import edit_port, user_in_role

pytestmark = pytest.mark.django_db


def client_as(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def trail() -> tuple[int, int, int]:
    """What a refused console form must leave as it was: decisions, audit entries, revisions."""
    return Approval.objects.count(), AuditEntry.objects.count(), PolicyRevision.objects.count()


# -- the decision form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "said"),
    [("x" * 2001, "at most 2000 characters"), ("looks\x00fine", "Null characters are not allowed")],
)
def test_a_decision_comment_the_api_would_refuse_is_refused_and_nothing_recorded(
    open_review: Review, comment: str, said: str
) -> None:
    # given an approver's comment that is too long or holds a NUL (the API answers 400 to both)
    before = trail()
    response = client_as(user_in_role(Role.APPROVER.value)).post(
        f"/reviews/{open_review.pk}/decide/", {"action": "reject", "comment": comment}
    )
    # then the review page says which field and why, and the review is still open with nothing recorded
    assert response.status_code == 302 and response["Location"] == f"/reviews/{open_review.pk}/"
    assert any(message.startswith("Comment:") and said in message for message in messages_of(response))
    assert Review.objects.get(pk=open_review.pk).state == Review.State.IN_REVIEW
    assert trail() == before


def test_a_decision_on_a_review_id_that_is_not_a_number_is_404(open_review: Review) -> None:
    response = client_as(user_in_role(Role.APPROVER.value)).post("/reviews/abc/decide/", {"action": "approve"})
    assert response.status_code == 404


def test_a_double_submitted_approval_is_recorded_once(open_review: Review) -> None:
    # given an approver who clicks twice
    approver = client_as(user_in_role(Role.APPROVER.value))
    first = approver.post(f"/reviews/{open_review.pk}/decide/", {"action": "approve", "comment": "ok"})
    second = approver.post(f"/reviews/{open_review.pk}/decide/", {"action": "approve", "comment": "ok"}, follow=True)
    # then one approval; the second click is told the review is decided
    assert first.status_code == 302 and second.status_code == 200
    assert Approval.objects.filter(review=open_review).count() == 1
    assert any("INVALID_TRANSITION" in message for message in messages_of(second))


def test_a_decision_without_the_csrf_token_is_refused(open_review: Review) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_in_role(Role.APPROVER.value))
    response = client.post(f"/reviews/{open_review.pk}/decide/", {"action": "approve"})
    assert response.status_code == 403
    assert Review.objects.get(pk=open_review.pk).state == Review.State.IN_REVIEW


# -- submitting a draft ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "said"), [("m" * 501, "at most 500 characters"), ("port\x0081", "Null characters are not allowed")]
)
def test_a_submit_message_the_api_would_refuse_is_refused_and_nothing_frozen(
    reviewed_policy: Any, author: Any, message: str, said: str
) -> None:
    # given a saved draft and a message that is too long or holds a NUL
    edit_port(reviewed_policy, 81, author)
    before = trail()
    response = client_as(author).post(f"/policies/{reviewed_policy.name}/submit/", {"message": message})
    # then the editor says why, and no revision, review or audit entry was written
    assert response.status_code == 302 and response["Location"] == f"/policies/{reviewed_policy.name}/"
    assert any(m.startswith("Message:") and said in m for m in messages_of(response))
    assert not Review.objects.exists()
    assert trail() == before


# -- the reviews list's filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("state=x", "There is no review state x"),
        ("policy=%00", "cannot contain a NUL character"),
        ("author=a%00b", "cannot contain a NUL character"),
    ],
)
def test_a_reviews_filter_that_cannot_match_says_why_and_lists_nothing(
    open_review: Review, query: str, said: str
) -> None:
    response = client_as(user_in_role(Role.VIEWER.value)).get(f"/reviews/?{query}")
    assert response.status_code == 200
    assert any(said in message for message in messages_of(response))
    assert 'data-testid="review-row"' not in response.content.decode()


@pytest.mark.parametrize("page", ["-1", "999999", "abc", "9" * 40])
def test_any_reviews_page_number_shows_a_page(open_review: Review, page: str) -> None:
    response = client_as(user_in_role(Role.VIEWER.value)).get(f"/reviews/?page={page}")
    assert response.status_code == 200
    assert 'data-testid="review-row"' in response.content.decode()


@pytest.mark.parametrize(
    "query", ["since=notadate", "since=99999-01-01", "policy=abc", "policy=" + "9" * 30, "actor=%00", "page=-1"]
)
def test_an_audit_filter_that_cannot_match_is_explained_not_a_failure(open_review: Review, query: str) -> None:
    response = client_as(user_in_role(Role.VIEWER.value)).get(f"/audit/?{query}")
    assert response.status_code == 200


# -- the plan fragment and the apply panel ---------------------------------------------------------


@pytest.mark.parametrize("cluster", ["%00", "a%00", "nope"])
def test_the_plan_of_a_cluster_that_cannot_exist_is_404(open_review: Review, fake_clusters: Any, cluster: str) -> None:
    response = client_as(user_in_role(Role.APPROVER.value)).get(f"/reviews/{open_review.pk}/plan/?cluster={cluster}")
    assert response.status_code == 404


def test_the_plan_of_a_cluster_whose_kubeconfig_is_gone_is_an_explained_error(
    open_review: Review, stored_cluster: Any, tmp_path: Any
) -> None:
    # given a registered cluster whose kubeconfig file was deleted since
    (tmp_path / "kubeconfig").unlink()
    response = client_as(user_in_role(Role.APPROVER.value)).get(
        f"/reviews/{open_review.pk}/plan/?cluster={stored_cluster.name}"
    )
    # then the plan panel carries the cluster layer's code and names the file, not a failure
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="plan-error" data-code="CLUSTER-E011"' in page
    assert f"There is no file {tmp_path / 'kubeconfig'} on the console" in page


def blocked(*_args: Any) -> None:
    raise TimeoutError("connecting blocked on the kubeconfig file")


@pytest.mark.parametrize("kind", ["fifo", "device", "outside"])
def test_a_stored_kubeconfig_that_became_unreadable_is_refused_before_the_client_loads_it(
    tmp_path: Any, settings: Any, kind: str
) -> None:
    # given a cluster registered at a path that is now a FIFO, a device, or outside EGRESS_KUBECONFIG_DIRS
    settings.EGRESS_KUBECONFIG_DIRS = ["/etc/egress"] if kind == "outside" else []
    path = {"fifo": str(tmp_path / "fifo"), "device": "/dev/zero", "outside": str(tmp_path / "kubeconfig")}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    else:
        (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    cluster = Cluster(name="moved", kubeconfig_path=path)
    # when any path connects to it (plan, apply job, admin's cached plans) - a FIFO must not block it
    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(10)
    try:
        with pytest.raises(ClusterError) as refused:
            connect_cluster(cluster)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # then the cluster layer's error for an unusable kubeconfig, at once
    assert refused.value.code == "CLUSTER-E011"


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ({"clusters": ["zz"], "target": "istio"}, "clusters"),
        ({"clusters": ["a"], "target": "kubernetes"}, "target"),
        ({"target": "istio"}, "clusters"),
        ({"clusters": ["a\x00"], "target": "istio"}, "clusters"),
    ],
)
def test_the_apply_panel_refuses_a_bad_choice_at_its_field_and_starts_nothing(
    approved_review: Review, operator: Any, fake_clusters: Any, form: dict[str, Any], path: str
) -> None:
    response = client_as(operator).post(
        f"/reviews/{approved_review.pk}/apply/", form, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert [e["path"] for e in errors_of(response)] == [path]
    assert not ApplyJob.objects.exists()


def test_a_cluster_listed_twice_is_applied_once(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    response = client_as(operator).post(
        f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a", "a"], "target": "istio", "dry_run": "on"}
    )
    assert response.status_code == 302
    assert [row.cluster.name for row in ApplyJob.objects.get().clusters.all()] == ["a"]


@pytest.mark.parametrize("role", [Role.VIEWER.value, Role.EDITOR.value, Role.APPROVER.value])
def test_a_role_that_may_not_apply_is_refused_by_the_url_itself(
    approved_review: Review, fake_clusters: Any, role: str
) -> None:
    response = client_as(user_in_role(role)).post(
        f"/reviews/{approved_review.pk}/apply/",
        {"clusters": ["a"], "target": "istio"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert [e["code"] for e in errors_of(response)] == ["permission_denied"]
    assert not ApplyJob.objects.exists()


# -- the clusters API's URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"), [("get", "%00/"), ("get", "a%00/"), ("post", "%00/check/"), ("delete", "a%00/")]
)
def test_a_cluster_url_with_a_nul_is_404_in_the_api_shape(
    admin_client_api: Any, fake_clusters: Any, method: str, url: str
) -> None:
    response = getattr(admin_client_api, method)(f"/api/v1/clusters/{url}")
    assert response.status_code == 404
    assert [e["code"] for e in errors_of(response)] == ["not_found"]


@pytest.fixture
def admin_client_api(db: Any) -> Client:
    return client_as(user_in_role(Role.ADMIN.value, "qa-admin"))


# -- a locked database -----------------------------------------------------------------------------


def locked(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("database is locked")


@pytest.mark.parametrize(
    "url",
    ["/clusters/", "/clusters/a/", "/reviews/", "/reviews/1/", "/reviews/1/plan/?cluster=a", "/audit/", "/jobs/1/"],
)
def test_the_new_pages_answer_503_when_the_database_is_locked(
    approved_review: Review, fake_clusters: Any, settings: Any, url: str
) -> None:
    settings.DEBUG = False
    client = client_as(user_in_role(Role.ADMIN.value, "qa-admin"))
    with connection.execute_wrapper(locked):
        response = client.get(url)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert b"The console cannot reach its database" in response.content


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/reviews/1/decide/", {"action": "approve"}),
        ("/reviews/1/apply/", {"clusters": ["a"], "target": "istio"}),
        ("/clusters/new/", {"name": "qa", "kubeconfig_path": "/etc/kubeconfig"}),
        ("/clusters/a/check/", {}),
        ("/clusters/a/delete/", {}),
    ],
)
def test_the_new_forms_answer_503_and_change_nothing_when_the_database_is_locked(
    approved_review: Review, fake_clusters: Any, settings: Any, url: str, form: dict[str, Any]
) -> None:
    settings.DEBUG = False
    client = client_as(user_in_role(Role.ADMIN.value, "qa-admin"))
    before = trail()
    with connection.execute_wrapper(locked):
        response = client.post(url, form)
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert trail() == before and Cluster.objects.count() == 3


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/clusters/"),
        ("post", "/api/v1/clusters/a/check/"),
        ("get", "/api/v1/reviews/"),
        ("post", "/api/v1/reviews/1/approve/"),
        ("post", "/api/v1/reviews/1/apply/"),
        ("get", "/api/v1/jobs/"),
        ("get", "/api/v1/audit/?format=csv"),
    ],
)
def test_the_new_endpoints_answer_503_in_the_api_shape_when_the_database_is_locked(
    approved_review: Review, fake_clusters: Any, settings: Any, method: str, url: str
) -> None:
    settings.DEBUG = False
    client = client_as(user_in_role(Role.ADMIN.value, "qa-admin"))
    with connection.execute_wrapper(locked):
        response = getattr(client, method)(url, data={}, content_type="application/json")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert [e["code"] for e in errors_of(response)] == ["database_unavailable"]


# -- the cluster form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("kubeconfig_path", "/etc/\x00kubeconfig", "Null characters are not allowed."),
        ("kubeconfig_path", "/" + "a" * 600, "Ensure this value has at most 500 characters (it has 601)."),
        ("context", "prod\x00", "Null characters are not allowed."),
    ],
)
def test_a_location_field_refused_by_the_form_gets_that_error_alone(
    kubeconfig: str, field: str, value: str, said: str
) -> None:
    # given a location field the form itself refuses
    form = {"name": "qa", "kubeconfig_path": kubeconfig, "context": "prod", field: value}
    response = client_as(user_in_role(Role.ADMIN.value, "qa-admin")).post("/clusters/new/", form)
    # then that field's error, and not a second, false one ("give a kubeconfig path")
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [said]}
    assert not Cluster.objects.exists()


def not_a_kubeconfig(tmp: Any, kind: str) -> str:
    """A path the console must refuse to register as a kubeconfig."""
    if kind == "fifo":
        os.mkfifo(tmp / "fifo")
    contents = {"binary": b"\xff\xfe\x00[", "huge": b"a: " + b"x" * 1048577}
    if kind in contents:
        (tmp / kind).write_bytes(contents[kind])
    paths = {"directory": str(tmp), "device": "/dev/zero", "relative": "kube/config", "bidi": "/nonexistent/\u202ekube"}
    return paths.get(kind, str(tmp / kind))


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("directory", "not a regular file"),
        ("fifo", "not a regular file"),
        ("device", "not a regular file"),
        ("binary", "is not valid YAML"),
        ("huge", "is over 1048576 bytes"),
        ("relative", "Give the kubeconfig as an absolute path"),
        ("bidi", "There is no file"),
    ],
)
def test_a_kubeconfig_path_that_is_no_kubeconfig_is_refused_at_its_field(tmp_path: Any, kind: str, said: str) -> None:
    form = {"name": "qa", "kubeconfig_path": not_a_kubeconfig(tmp_path, kind), "context": ""}
    response = client_as(user_in_role(Role.ADMIN.value, "qa-admin")).post("/clusters/new/", form)
    assert response.status_code == 200
    [error] = response.context["form"].errors["kubeconfig_path"]
    assert said in error
    assert not Cluster.objects.exists()


# -- the Django admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/policies/auditentry/?action=%00",
        "/admin/policies/auditentry/?q=a%00",
        "/admin/policies/review/?state__exact=%00",
    ],
)
def test_an_admin_list_filter_with_a_nul_is_a_400(open_review: Review, url: str) -> None:
    response = client_as(user_in_role(Role.ADMIN.value, "qa-admin")).get(url)
    assert response.status_code == 400


@pytest.mark.parametrize("role", [Role.VIEWER.value, Role.EDITOR.value, Role.OPERATOR.value])
def test_a_role_that_may_not_approve_cannot_through_the_admin(open_review: Review, role: str) -> None:
    # given a staff user without the approver's right who posts the admin action (or the change form) directly
    client = client_as(user_in_role(role))
    client.post("/admin/policies/review/", {"action": "approve_reviews", "_selected_action": [open_review.pk]})
    changed = client.post(f"/admin/policies/review/{open_review.pk}/change/", {"state": "approved"})
    # then nothing changed
    assert changed.status_code == 403
    assert Review.objects.get(pk=open_review.pk).state == Review.State.IN_REVIEW
    assert not Approval.objects.exists()


# -- the webhook -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://[::1/hook", "http://hooks.example com/x", "https://127.0.0.1:1/tok-3f9a\x07", "http://h:99999/"]
)
def test_a_malformed_webhook_url_is_a_counted_failed_attempt_that_never_shows_the_url(
    open_review: Review, settings: Any, url: str
) -> None:
    # given a webhook URL an operator mistyped (it may carry a token)
    settings.EGRESS_WEBHOOK_URL = url
    settings.EGRESS_WEBHOOK_MAX_ATTEMPTS = 1
    reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    # when the worker delivers the event
    [delivery] = WebhookDelivery.objects.all()
    assert deliver_webhook.call(delivery.pk) == "abandoned"
    # then the attempt is counted with its reason, without the URL, and the approval stands
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.last_error
    assert "tok-3f9a" not in delivery.last_error and "example" not in delivery.last_error
    assert Review.objects.get(pk=open_review.pk).state == Review.State.APPROVED


def test_a_receiver_that_does_not_answer_http_is_a_counted_failed_attempt(
    open_review: Review, settings: Any, garbage_receiver: str
) -> None:
    settings.EGRESS_WEBHOOK_URL, settings.EGRESS_WEBHOOK_MAX_ATTEMPTS = garbage_receiver, 1
    reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    [delivery] = WebhookDelivery.objects.all()
    assert deliver_webhook.call(delivery.pk) == "abandoned"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_error) == (1, "BadStatusLine: the receiver's answer is not HTTP")


@pytest.fixture
def garbage_receiver() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that answers any request with a line that is not HTTP."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _address = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    thread.join(timeout=5)
    server.close()


# -- the panel script's JSON endpoints -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "code"), [(Role.OPERATOR.value, 404, "not_found"), ("nobody", 403, "permission_denied")]
)
def test_the_progress_json_of_a_job_that_cannot_be_read_answers_in_the_error_shape(
    db: Any, role: str, status: int, code: str
) -> None:
    response = client_as(user_in_role(role)).get("/jobs/999/progress/")
    assert (response.status_code, response["Content-Type"]) == (status, "application/json")
    assert [e["code"] for e in errors_of(response)] == [code]


def test_applying_a_review_that_does_not_exist_answers_the_script_in_the_error_shape(operator: Any) -> None:
    response = client_as(operator).post(
        "/reviews/999/apply/", {"clusters": ["a"], "target": "istio"}, headers={"Accept": "application/json"}
    )
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert errors_of(response) == [{"code": "not_found", "path": "", "message": "There is no review #999."}]
