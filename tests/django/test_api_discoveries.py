"""``/api/v1/discoveries/``: uploads (multipart and JSON), flows, propose, replay, deletion, limits and roles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from policies.models import ObservationUpload, ObservedFlow, PolicyDraft
from tests.fixtures.accesslogs import http, text_line
from tests.fixtures.api import codes_of, errors_of, send
from tests.fixtures.discovery import NAMESPACE, SLEEP_A, ingest_sample, sample_log
from tests.fixtures.reviews import client_in_role, user_in_role

pytestmark = pytest.mark.django_db
URL = "/api/v1/discoveries/"


@pytest.fixture
def editor_client() -> APIClient:
    return client_in_role("editor")


def upload(client: APIClient, data: bytes, **fields: Any) -> Any:
    body = {"gateway": "egressgateway", "namespace": NAMESPACE, "labels": "app=sleep-a", **fields}
    body["logs"] = SimpleUploadedFile("sleep-a.log", data)
    return client.post(URL, body, format="multipart")


def test_a_multipart_upload_stores_flows_and_answers_the_summary(seed_gateway_record, editor_client) -> None:
    response = upload(editor_client, sample_log())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["summary"]["entries"] == 5 and body["summary"]["formats"] == {"text": 3, "json": 2}
    assert body["created"] == 4 and body["merged"] == 0 and body["refusedLines"] == []
    assert body["inputs"] == [{"name": "sleep-a.log", "bytes": len(sample_log())}]
    assert ObservedFlow.objects.filter(gateway=seed_gateway_record).count() == 4
    again = upload(editor_client, sample_log()).json()
    assert (again["created"], again["merged"]) == (0, 4)
    httpbin = ObservedFlow.objects.get(host="www.httpbin.org", port=80)
    assert httpbin.count == 4 and httpbin.outcomes == {"200": 4}


def test_refused_lines_come_back_line_numbered_and_the_rest_is_stored(seed_gateway_record, editor_client) -> None:
    junk = [
        "2024-05-01T10:00:00.000000Z\tinfo\tpilot-agent starting xyzzy-token",
        '[2024-05-01T10:00:00.000Z] "GET / HTTP/1.1" 200',
    ]
    response = upload(editor_client, sample_log(junk))
    assert response.status_code == 201
    refused = response.json()["refusedLines"]
    assert [(r["input"], r["line"], r["code"]) for r in refused] == [
        ("sleep-a.log", 6, "EGRESS-LOG06"),
        ("sleep-a.log", 7, "EGRESS-LOG03"),
    ]
    assert all(r["reason"] for r in refused)
    assert response.json()["summary"]["refusedTotal"] == 2
    assert ObservedFlow.objects.count() == 4
    stored = ObservationUpload.objects.get()
    assert "xyzzy" not in json.dumps(stored.refused_lines) + json.dumps(stored.summary)


def test_a_binary_file_stores_nothing_and_names_each_line(seed_gateway_record, editor_client) -> None:
    response = upload(editor_client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\n")
    assert response.status_code == 400
    errors = errors_of(response)
    assert errors[0]["code"] == "EGRESS-DISC32"
    assert {(e["code"], e["path"]) for e in errors[1:]} >= {("EGRESS-LOG01", "sleep-a.log:1")}
    assert "line 1" in errors[1]["message"]
    assert not ObservedFlow.objects.exists() and not ObservationUpload.objects.exists()


def test_mixed_text_and_json_lines_in_one_file_are_both_read(seed_gateway_record, editor_client) -> None:
    body = upload(editor_client, sample_log()).json()
    assert set(body["summary"]["formats"]) == {"text", "json"}


def test_json_body_with_pasted_text(seed_gateway_record, editor_client) -> None:
    line = text_line(http("api.github.com", "140.82.1.1"))
    response = send(
        editor_client,
        "post",
        URL,
        {"gateway": "egressgateway", "text": line, "namespace": "shop", "labels": {"app": "web"}},
    )
    assert response.status_code == 201, response.content
    assert response.json()["inputs"] == [{"name": "text", "bytes": len(line)}]
    flow = ObservedFlow.objects.get()
    assert (flow.source_label, flow.host) == ("shop/app=web", "api.github.com")


def test_lines_without_a_source_are_refused_with_their_numbers(seed_gateway_record, editor_client) -> None:
    response = send(
        editor_client, "post", URL, {"gateway": "egressgateway", "text": text_line(http("a.example", "1.1.1.1"))}
    )
    assert response.status_code == 400
    assert [e["path"] for e in errors_of(response)[1:]] == ["text:1"]
    assert codes_of(response)[1] == "EGRESS-LOG09"


def test_a_pod_list_maps_prefixed_lines(seed_gateway_record, editor_client) -> None:
    pods = {
        "items": [
            {"metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "pod-template-hash": "x"}}}
        ]
    }
    data = (text_line(http("api.github.com", "140.82.1.1"), pod="web-1") + "\n").encode()
    response = editor_client.post(
        URL,
        {
            "gateway": "egressgateway",
            "logs": SimpleUploadedFile("shop.log", data),
            "pods": SimpleUploadedFile("pods.json", json.dumps(pods).encode()),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert ObservedFlow.objects.get().source_label == "shop/app=web"
    assert ObservationUpload.objects.get().pod_source == "document"


def test_a_bad_pod_list_is_a_400_with_its_path(seed_gateway_record, editor_client) -> None:
    response = send(
        editor_client, "post", URL, {"gateway": "egressgateway", "text": "x", "pods": {"items": [{"metadata": {}}]}}
    )
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "pods.items[0].metadata.name"


def test_a_pod_file_that_is_not_json_or_an_unknown_cluster_is_a_400_and_nothing_is_stored(
    seed_gateway_record, editor_client
) -> None:
    data = (text_line(http("api.github.com", "140.82.1.1"), pod="web-1") + "\n").encode()
    bad_pods = {"pods": SimpleUploadedFile("pods.json", b"{not json")}
    for extra, path in ((bad_pods, "pods"), ({"cluster": "nowhere"}, "cluster")):
        body = {"gateway": "egressgateway", "logs": SimpleUploadedFile("shop.log", data), **extra}
        response = editor_client.post(URL, body, format="multipart")
        assert response.status_code == 400, response.content
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-DISC30", path)]
    assert not ObservationUpload.objects.exists()


def test_pods_from_a_registered_cluster(seed_gateway_record, editor_client, stored_cluster, monkeypatch) -> None:
    from policies.cluster.fake import FakeClusterApi

    fake = FakeClusterApi()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
    }
    from policies import discovery

    fake.apply(resource=discovery.PODS, manifest=pod)
    monkeypatch.setattr("policies.discovery.connect_cluster", lambda cluster, retry=None: fake)
    data = (text_line(http("api.github.com", "140.82.1.1"), pod="web-1") + "\n").encode()
    response = editor_client.post(
        URL,
        {"gateway": "egressgateway", "cluster": "prod", "logs": SimpleUploadedFile("a.log", data)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    flow = ObservedFlow.objects.get()
    assert flow.source_label == "shop/app=web" and flow.cluster == stored_cluster
    assert ("list", "Pod") in fake.requests


def test_an_unreachable_cluster_is_a_502_with_its_code(seed_gateway_record, editor_client, stored_cluster, monkeypatch):
    from policies.cluster.errors import ClusterUnreachable
    from policies.cluster.fake import FakeClusterApi

    fake = FakeClusterApi()
    fake.fail("list", "Pod", ClusterUnreachable("Cannot reach the API server: connection refused."))
    monkeypatch.setattr("policies.discovery.connect_cluster", lambda cluster, retry=None: fake)
    response = upload(editor_client, sample_log(), cluster="prod")
    assert response.status_code == 502
    assert codes_of(response) == ["CLUSTER-E001"]
    assert not ObservedFlow.objects.exists()


@override_settings(EGRESS_DISCOVERY_MAX_UPLOAD_BYTES=1000)
def test_an_oversize_upload_is_a_413_before_it_is_read(seed_gateway_record, editor_client) -> None:
    response = upload(editor_client, sample_log() * 5)
    assert response.status_code == 413
    assert codes_of(response) == ["EGRESS-DISC31"]
    assert not ObservedFlow.objects.exists()


def test_a_five_gigabyte_claim_is_a_413(seed_gateway_record, editor_client) -> None:
    response = editor_client.generic(
        "POST", URL, b"--x--", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(5 * 1024**3)
    )
    assert response.status_code == 413
    assert codes_of(response) == ["EGRESS-DISC31"]


def test_a_database_failure_while_storing_stores_nothing(seed_gateway_record, editor_client, monkeypatch) -> None:
    from django.db import OperationalError

    def broken(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("disk I/O error")

    monkeypatch.setattr("policies.discovery.prune", broken)
    response = upload(editor_client, sample_log())
    assert response.status_code == 503
    assert not ObservedFlow.objects.exists() and not ObservationUpload.objects.exists()


def test_flows_are_listed_and_filtered(seed_gateway_record, editor_client) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin"))
    everything = editor_client.get(f"{URL}flows/?gateway=egressgateway").json()
    assert everything["count"] == 4 and len(everything["flows"]) == 4
    assert everything["flows"][0]["source"] == {
        "namespace": NAMESPACE,
        "labels": SLEEP_A,
        "label": "mytest/app=sleep-a",
    }
    blocked = editor_client.get(f"{URL}flows/?outcome=502").json()
    assert [f["host"] for f in blocked["flows"]] == ["blocked.example.org"]
    assert editor_client.get(f"{URL}flows/?host=httpbin").json()["count"] == 2
    assert editor_client.get(f"{URL}flows/?reached=false").json()["count"] == 1
    assert editor_client.get(f"{URL}flows/?namespace=other").json()["count"] == 0
    assert editor_client.get(f"{URL}flows/?limit=1&offset=1").json()["flows"][0]["host"] == "blocked.example.org"
    assert editor_client.get(f"{URL}flows/?gateway=nope").status_code == 404


def test_propose_shows_the_diff_and_saves_with_if_match(seed_policy_record, editor_client) -> None:
    ingest_sample(seed_policy_record.gateway, user_in_role("admin"))
    ids = list(ObservedFlow.objects.values_list("pk", flat=True))
    response = send(editor_client, "post", f"{URL}propose/", {"gateway": "egressgateway", "flows": ids})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["saved"] is False and body["draftVersion"] == 1 and response["ETag"] == '"1"'
    assert body["diff"]["lines"]["added"] > 0 and body["diff"]["changes"]
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 1

    def save(**if_match: str) -> Any:
        return send(
            editor_client,
            "post",
            f"{URL}propose/",
            {"gateway": "egressgateway", "flows": ids, "save": True},
            **if_match,
        )

    assert save().status_code == 428
    assert save(HTTP_IF_MATCH='"9"').status_code == 412
    saved = save(HTTP_IF_MATCH='"1"')
    assert saved.status_code == 200, saved.content
    assert saved.json()["saved"] is True and saved["ETag"] == '"2"'
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 2


def test_propose_refuses_unknown_flows_with_their_position(seed_gateway_record, editor_client) -> None:
    response = send(editor_client, "post", f"{URL}propose/", {"gateway": "egressgateway", "flows": [999]})
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "flows[0]"


def test_replay_after_saving_the_proposal_breaks_nothing(seed_gateway_record, editor_client) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin"))
    ids = list(ObservedFlow.objects.values_list("pk", flat=True))
    assert send(
        editor_client, "post", f"{URL}propose/", {"gateway": "egressgateway", "flows": ids, "save": True}
    ).json()["saved"]
    report = send(editor_client, "post", f"{URL}replay/", {"gateway": "egressgateway"}).json()
    assert report["counts"]["broken"] == 0 and report["replayed"] == 4
    assert [f["verdict"] for f in report["flows"]] == ["newly_allowed"]
    revision = send(
        editor_client, "post", f"{URL}replay/", {"gateway": "egressgateway", "against": "revision", "revision": 1}
    )
    assert revision.json()["against"] == {"kind": "revision", "revision": 1}


def test_replay_against_the_seed_policy_lists_broken_flows(seed_policy_record, editor_client) -> None:
    ingest_sample(seed_policy_record.gateway, user_in_role("admin"))
    report = send(editor_client, "post", f"{URL}replay/", {"gateway": "egressgateway", "all": True}).json()
    verdicts = {(f["flow"]["host"], f["flow"]["port"]): f["verdict"] for f in report["flows"]}
    assert verdicts[("api.example.com", 443)] == "broken"
    assert verdicts[("www.httpbin.org", 80)] == "kept"
    assert report["counts"]["broken"] == sum(v == "broken" for v in verdicts.values())


def test_replay_names_what_is_missing(seed_policy_record, editor_client) -> None:
    response = send(editor_client, "post", f"{URL}replay/", {"gateway": "egressgateway", "against": "review"})
    assert response.status_code == 400 and errors_of(response)[0]["path"] == "review"
    unknown = send(
        editor_client, "post", f"{URL}replay/", {"gateway": "egressgateway", "against": "revision", "revision": 7}
    )
    assert unknown.status_code == 400


@override_settings(EGRESS_OBSERVATION_RETENTION_DAYS=0)
def test_retention_prunes_flows_on_the_next_upload(seed_gateway_record, editor_client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    ingest_sample(seed_gateway_record, user_in_role("admin"))
    ObservedFlow.objects.update(updated_at=timezone.now() - timedelta(days=1))
    ObservationUpload.objects.update(created_at=timezone.now() - timedelta(days=1))
    body = send(
        editor_client,
        "post",
        URL,
        {"gateway": "egressgateway", "text": text_line(http("a.example", "1.1.1.1")), "namespace": "x"},
    ).json()
    assert body["pruned"] == 4
    assert list(ObservedFlow.objects.values_list("host", flat=True)) == ["a.example"]
    assert ObservationUpload.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("editor", 403), ("approver", 403), ("operator", 403), ("admin", 200)]
)
def test_only_admins_delete_observations(seed_gateway_record, role: str, status: int) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin", "uploader"))
    response = client_in_role(role).delete(f"{URL}flows/?gateway=egressgateway")
    assert response.status_code == status
    assert ObservedFlow.objects.exists() == (status != 200)
    if status == 200:
        assert response.json() == {"gateway": "egressgateway", "deleted": 4}
        assert not ObservationUpload.objects.exists()


ACTIONS = {
    "list": ("get", URL, None),
    "flows": ("get", f"{URL}flows/", None),
    "replay": ("post", f"{URL}replay/", {"gateway": "egressgateway"}),
    "upload": ("post", URL, {"gateway": "egressgateway", "text": "x", "namespace": "ns"}),
    "propose": ("post", f"{URL}propose/", {"gateway": "egressgateway", "flows": [1]}),
    "delete": ("delete", f"{URL}flows/?gateway=egressgateway", None),
}


def test_uploads_are_listed_without_log_text(seed_gateway_record, editor_client) -> None:
    ingest_sample(seed_gateway_record, user_in_role("admin"))
    uploads = editor_client.get(f"{URL}?gateway=egressgateway").json()
    assert len(uploads) == 1 and uploads[0]["uploadedBy"] == "admin-user"
    assert "httpbin" not in json.dumps(uploads)


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"gateway": "egressgateway", "namespace": "shop"}, 400, "text"),
        ({"gateway": "egressgateway", "text": "x", "namespace": "shop", "colour": "red"}, 400, "colour"),
        ({"gateway": "egressgateway", "text": "x", "labels": {"app": "web"}}, 400, "namespace"),
        ({"gateway": "egressgateway", "text": "x", "namespace": "Bad_NS"}, 400, "namespace"),
        ({"gateway": "egressgateway", "text": "\u0000\ud800 not a log", "namespace": "shop"}, 400, "text"),
        ({"gateway": "egressgateway", "text": "\u0001\u0002 binary\n\u0003", "namespace": "shop"}, 400, "text:2"),
        ({"gateway": "nope", "text": "x", "namespace": "shop"}, 404, ""),
        ({"gateway": "egressgateway", "text": "x", "cluster": "nope"}, 400, "cluster"),
    ],
)
def test_bad_uploads_are_refused_with_the_field_at_fault(
    seed_gateway_record, editor_client, body, status, path
) -> None:
    response = send(editor_client, "post", URL, body)
    assert response.status_code == status, response.content
    assert path in [error["path"] for error in errors_of(response)]
    assert not ObservedFlow.objects.exists() and not ObservationUpload.objects.exists()


def test_a_multipart_upload_without_logs_names_the_field(seed_gateway_record, editor_client) -> None:
    response = editor_client.post(URL, {"gateway": "egressgateway"}, format="multipart")
    assert response.status_code == 400
    assert errors_of(response)[0]["path"] == "logs"


def test_a_json_body_over_one_mib_is_a_413(seed_gateway_record, editor_client) -> None:
    response = editor_client.generic("POST", URL, b"{}", content_type="application/json", CONTENT_LENGTH=str(2**21))
    assert response.status_code == 413
