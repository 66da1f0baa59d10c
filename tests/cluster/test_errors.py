"""The real client against a scripted API server: every failure becomes our error, with context.

Given a response the server might send, when a verb runs, then the caller sees exactly one of
``policies.cluster.errors`` with the verb, resource, fields or managers a person needs, the
client library's exception chained behind it, and no token anywhere.
"""

from __future__ import annotations

import json
import logging

import pytest
from kubernetes.client.exceptions import ApiException

from policies.cluster.errors import (
    ClusterError,
    ClusterUnreachable,
    Conflict,
    CrdMissing,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    UnexpectedResponse,
)
from policies.cluster.interface import ResourceType
from tests.cluster.conftest import TOKEN, Reply

SERVICE_ENTRIES = ResourceType("networking.istio.io", "v1", "ServiceEntry", "serviceentries")
ASM_POLICIES = ResourceType("istio.alibabacloud.com", "v1", "ASMEgressTrafficPolicy", "asmegresstrafficpolicies")
MANIFEST = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "ServiceEntry",
    "metadata": {"name": "se", "namespace": "team-a"},
    "spec": {"hosts": ["a.example.com"]},
}


def status(code: int, reason: str, message: str, **details: object) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }


def apply(cluster, resource=SERVICE_ENTRIES):
    return cluster.apply(resource=resource, manifest=MANIFEST)


def test_unauthorized_is_not_retried(api_server, cluster):
    api_server.queue(Reply(401, status(401, "Unauthorized", "Unauthorized")))
    with pytest.raises(Unauthorized) as caught:
        apply(cluster)
    assert caught.value.code == "CLUSTER-E002"
    assert len(api_server.seen) == 1


def test_forbidden_names_verb_and_resource(api_server, cluster):
    message = (
        'serviceentries.networking.istio.io "se" is forbidden: User "alice" cannot patch resource '
        '"serviceentries" in API group "networking.istio.io" in the namespace "team-a"'
    )
    api_server.queue(Reply(403, status(403, "Forbidden", message)))
    with pytest.raises(Forbidden) as caught:
        apply(cluster)
    assert (caught.value.verb, caught.value.resource) == ("patch", "serviceentries.networking.istio.io")
    assert caught.value.message == f"Forbidden: cannot patch serviceentries.networking.istio.io: {message}"
    assert isinstance(caught.value.__cause__, ApiException)


def test_missing_namespace_says_how_to_create_it(api_server, cluster):
    api_server.queue(
        Reply(404, status(404, "NotFound", 'namespaces "team-a" not found', name="team-a", kind="namespaces"))
    )
    with pytest.raises(NotFound) as caught:
        apply(cluster)
    assert (
        caught.value.message == "Namespace 'team-a' does not exist; create it with `kubectl create namespace team-a`."
    )


def test_a_web_server_that_is_not_an_apiserver_is_named_as_such(api_server, cluster):
    api_server.queue(Reply(404, b"404 page not found\n", {"Content-Type": "text/plain"}))
    with pytest.raises(UnexpectedResponse) as caught:
        cluster.api_groups()
    assert caught.value.code == "CLUSTER-E008"
    assert caught.value.message == (
        f"{api_server.url} answered 404 to GET /apis: it is not a Kubernetes API server; "
        "check the kubeconfig's server address."
    )


def test_unserved_url_is_crd_missing_with_install_hint(api_server, cluster):
    api_server.queue(Reply(404, b"404 page not found\n", {"Content-Type": "text/plain"}))
    with pytest.raises(CrdMissing) as caught:
        cluster.get(resource=ASM_POLICIES, namespace="istio-egress", name="egress-by-egressgateway")
    assert caught.value.crd == "asmegresstrafficpolicies.istio.alibabacloud.com"
    assert caught.value.message == (
        "The cluster does not serve asmegresstrafficpolicies.istio.alibabacloud.com; "
        "install it with `python manage.py egress crd | kubectl apply -f -`."
    )


def test_field_manager_conflict_names_manager_and_fields(api_server, cluster):
    cause = {
        "reason": "FieldManagerConflict",
        "message": 'conflict with "kubectl-edit" using networking.istio.io/v1',
        "field": ".spec.hosts",
    }
    api_server.queue(Reply(409, status(409, "Conflict", "Apply failed with 1 conflict", causes=[cause])))
    with pytest.raises(Conflict) as caught:
        apply(cluster)
    assert caught.value.managers == ("kubectl-edit",)
    assert caught.value.fields == (".spec.hosts",)
    assert "re-run with --force-conflicts" in caught.value.message


def test_stale_resource_version_is_a_conflict_without_managers(api_server, cluster):
    api_server.queue(Reply(409, status(409, "Conflict", "the object has been modified", name="se")))
    with pytest.raises(Conflict) as caught:
        apply(cluster)
    assert caught.value.managers == ()
    assert caught.value.message == "the object has been modified (someone changed it since we read it; run again)."


def test_invalid_carries_field_causes(api_server, cluster):
    cause = {"reason": "FieldValueInvalid", "message": "port must be between 1-65535", "field": "spec.ports[0].number"}
    api_server.queue(Reply(422, status(422, "Invalid", "ServiceEntry is invalid", name="se", causes=[cause])))
    with pytest.raises(Invalid) as caught:
        apply(cluster)
    assert [c.field for c in caught.value.causes] == ["spec.ports[0].number"]
    assert caught.value.message == (
        "The server rejected serviceentries.networking.istio.io se: spec.ports[0].number: port must be between 1-65535"
    )


def test_429_waits_as_long_as_retry_after_says_then_succeeds(api_server, cluster, sleeps):
    api_server.queue(
        Reply(429, status(429, "TooManyRequests", "slow down"), {"Retry-After": "3"}), Reply(200, MANIFEST)
    )
    assert apply(cluster) == MANIFEST
    assert sleeps == [3.0]
    assert len(api_server.seen) == 2


def test_retry_after_is_capped(api_server, cluster, sleeps):
    api_server.queue(
        Reply(429, status(429, "TooManyRequests", "slow down"), {"Retry-After": "3600"}), Reply(200, MANIFEST)
    )
    apply(cluster)
    assert sleeps == [5.0]


def test_5xx_is_retried_a_bounded_number_of_times(api_server, cluster, sleeps):
    api_server.queue(Reply(500, status(500, "InternalError", "etcd is sad")))
    with pytest.raises(ClusterUnreachable) as caught:
        apply(cluster)
    assert len(api_server.seen) == 3
    assert sleeps == [0.01, 0.02]
    assert caught.value.status == 500
    assert isinstance(caught.value.__cause__, ApiException)


def test_connection_refused_is_unreachable_after_retries(cluster_at, closed_port_url, sleeps):
    api = cluster_at(closed_port_url)
    with pytest.raises(ClusterUnreachable) as caught:
        apply(api)
    assert (
        caught.value.message == "Cannot reach the API server (connection refused) for patch "
        "serviceentries.networking.istio.io."
    )
    assert api.transport.request_count == 3
    assert not isinstance(caught.value, ApiException)
    assert caught.value.__cause__ is not None


def test_read_timeout_is_unreachable(api_server, cluster_at):
    api_server.queue(Reply(200, MANIFEST, delay=1.0))
    api = cluster_at(api_server.url, read_timeout=0.2)
    with pytest.raises(ClusterUnreachable) as caught:
        apply(api)
    assert "read timed out" in caught.value.message
    assert len(api_server.seen) == 3


def test_token_is_sent_but_never_logged_or_shown(api_server, cluster, caplog):
    api_server.queue(Reply(403, status(403, "Forbidden", f"denied for Bearer {TOKEN} " + "x" * 1000)))
    with caplog.at_level(logging.DEBUG, logger="policies.cluster"), pytest.raises(Forbidden) as caught:
        apply(cluster)
    assert api_server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value)
    assert "Bearer <redacted>" in caught.value.message
    assert len(caught.value.message) < 600
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)


def test_each_attempt_is_logged(api_server, cluster, caplog):
    api_server.queue(Reply(503, status(503, "ServiceUnavailable", "later")), Reply(200, MANIFEST))
    with caplog.at_level(logging.DEBUG, logger="policies.cluster.transport"):
        apply(cluster)
    lines = [r.getMessage().split(" (")[0] + " " + r.getMessage().split("(")[1].split(",")[0] for r in caplog.records]
    assert lines == [
        "PATCH /apis/networking.istio.io/v1/namespaces/team-a/serviceentries/se -> 503 attempt 1/3",
        "PATCH /apis/networking.istio.io/v1/namespaces/team-a/serviceentries/se -> 200 attempt 2/3",
    ]


def test_apply_sends_server_side_apply_request(api_server, cluster):
    api_server.queue(Reply(200, MANIFEST))
    cluster.apply(resource=SERVICE_ENTRIES, manifest=MANIFEST, dry_run=True, force=True)
    seen = api_server.seen[0]
    assert (seen.method, seen.path) == (
        "PATCH",
        "/apis/networking.istio.io/v1/namespaces/team-a/serviceentries/se?fieldManager=egress-console&dryRun=All"
        "&force=true",
    )
    assert seen.headers["content-type"] == "application/apply-patch+yaml"


def test_every_error_is_a_cluster_error():
    for error_type in (ClusterUnreachable, Unauthorized, Forbidden, CrdMissing, Invalid, Conflict, NotFound):
        assert issubclass(error_type, ClusterError)


def test_dry_run_delete_carries_dry_run_and_precondition_in_the_body(api_server, cluster):
    # NB: the API server ignores ?dryRun= when DeleteOptions come in the body; a dry run once deleted for real.
    api_server.queue(Reply(200, status(200, "", "")))
    cluster.delete(resource=SERVICE_ENTRIES, namespace="team-a", name="se", resource_version="42", dry_run=True)
    body = json.loads(api_server.seen[0].body)
    assert (body["dryRun"], body["preconditions"]) == (["All"], {"resourceVersion": "42"})
