"""policies.discovery: streaming ingest, merging, all-or-nothing storage, stored flows as the core sees them,
propose without a policy, replay for a review, retention."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import override_settings
from django.utils import timezone

from policies import discovery, reviews
from policies.core.discovery.flows import FlowAggregator
from policies.core.discovery.sources import SourceResolver, Workload
from policies.models import AuditEntry, EgressPolicy, ObservationUpload, ObservedFlow
from tests.fixtures.accesslogs import GATEWAY_CLUSTER, http, json_line, text_line
from tests.fixtures.discovery import NAMESPACE, SLEEP_A, ingest_sample, log_input, sample_log, sample_log_lines
from tests.fixtures.reviews import edit_port, user_in_role

pytestmark = pytest.mark.django_db


class LinesOnly(io.BytesIO):
    """A file that may be read line by line only: reading it whole would fail the test."""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the log was read whole")


def test_ingest_streams_the_log_line_by_line(seed_gateway_record) -> None:
    data = sample_log()
    sources = discovery.SourceSpec(namespace=NAMESPACE, labels=dict(SLEEP_A))
    result = discovery.ingest(
        seed_gateway_record,
        [discovery.LogInput("big.log", LinesOnly(data), len(data))],
        sources,
        user=user_in_role("editor"),
    )
    assert result.created == 4


def test_stored_flows_read_back_as_the_cores_flows(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("editor"))
    aggregator = FlowAggregator(SourceResolver(None, Workload.of(NAMESPACE, SLEEP_A)))
    list(aggregator.feed(io.BytesIO(sample_log())))
    expected = {flow.key: flow.as_dict() for flow in aggregator.flows()}
    stored = {discovery.core_flow(row).key: discovery.core_flow(row).as_dict() for row in ObservedFlow.objects.all()}
    assert stored == expected


def test_uploads_merge_counts_outcomes_and_first_last_seen(seed_gateway_record) -> None:
    editor = user_in_role("editor")
    ingest_sample(seed_gateway_record, editor)
    later = text_line(http("www.httpbin.org", "34.1.1.1", code=503, START_TIME="2024-05-02T09:00:00.000Z"))
    earlier = json_line(http("www.httpbin.org", "34.1.1.1", START_TIME="2024-04-30T08:00:00.000Z"))
    ingest_sample(seed_gateway_record, editor, f"{later}\n{earlier}\n".encode())
    flow = ObservedFlow.objects.get(host="www.httpbin.org", port=80)
    assert flow.count == 4 and flow.outcomes == {"200": 3, "503": 1}
    assert discovery.core_flow(flow).first_seen == "2024-04-30T08:00:00.000Z"
    assert discovery.core_flow(flow).last_seen == "2024-05-02T09:00:00.000Z"
    assert flow.last_upload == ObservationUpload.objects.first()


def test_each_input_is_numbered_from_one(seed_gateway_record) -> None:
    sources = discovery.SourceSpec(namespace=NAMESPACE)
    logs = [log_input(sample_log(), "a.log"), log_input(b"junk\n" + sample_log(), "b.log")]
    result = discovery.ingest(seed_gateway_record, logs, sources, user=user_in_role("editor"))
    [refused] = result.upload.refused_lines
    assert (refused["input"], refused["line"], refused["code"]) == ("b.log", 1, "EGRESS-LOG03")


def test_refused_reasons_are_shown_in_the_readers_language(seed_gateway_record) -> None:
    bad = text_line(http("a.example", "1.1.1.1", START_TIME="2024-13-45T10:00:00.000Z"))
    result = ingest_sample(seed_gateway_record, user_in_role("editor"), sample_log([bad]))
    english = result.upload.refused_lines[0]["reason"]
    assert "2024-13-45T10:00:00.000Z" in english
    marked = discovery.translated_lines(result.upload.refused_lines, lambda template: f"» {template}")
    assert marked[0]["reason"] == f"» {english}"
    broken = discovery.translated_lines(result.upload.refused_lines, lambda template: "{missing}")
    assert broken[0]["reason"] == result.upload.refused_lines[0]["reason"]
    assert sorted(discovery.upload_data(result.upload)["refusedLines"][0]) == ["code", "input", "line", "reason"]


def test_a_start_time_no_calendar_has_is_refused_with_its_line(seed_gateway_record) -> None:
    bad = text_line(http("a.example", "1.1.1.1", START_TIME="2024-13-45T10:00:00.000Z"))
    result = ingest_sample(seed_gateway_record, user_in_role("editor"), sample_log([bad]))
    assert [(r["line"], r["code"]) for r in result.upload.refused_lines] == [(6, "EGRESS-LOG05")]
    assert not ObservedFlow.objects.filter(host="a.example").exists()


def test_mesh_internal_traffic_only_is_an_upload_without_flows(seed_gateway_record) -> None:
    internal = text_line(
        http("reviews.shop.svc.cluster.local", "10.0.0.9", cluster="outbound|9080||reviews.shop.svc.cluster.local")
    )
    result = ingest_sample(seed_gateway_record, user_in_role("editor"), f"{internal}\n".encode())
    assert result.upload.summary["meshInternal"] == 1 and result.created == 0
    assert not ObservedFlow.objects.exists()


def test_flows_through_the_egress_gateway_keep_their_cluster(seed_gateway_record) -> None:
    line = text_line(http("www.httpbin.org", "10.0.0.5", cluster=GATEWAY_CLUSTER))
    ingest_sample(seed_gateway_record, user_in_role("editor"), f"{line}\n".encode())
    assert ObservedFlow.objects.get().cluster_kinds == {"egress_gateway": 1}


def test_a_clash_with_a_concurrent_upload_is_retried_then_refused(seed_gateway_record, monkeypatch) -> None:
    calls = []
    real = discovery._insert_rows

    def clashing_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("UNIQUE constraint failed: policies_observedflow.key_hash")
        return real(*args, **kwargs)

    monkeypatch.setattr(discovery, "_insert_rows", clashing_once)
    assert ingest_sample(seed_gateway_record, user_in_role("editor")).created == 4
    assert ObservationUpload.objects.count() == 1

    def always_clashing(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("UNIQUE constraint failed: policies_observedflow.key_hash")

    monkeypatch.setattr(discovery, "_insert_rows", always_clashing)
    with pytest.raises(discovery.ConcurrentUpload) as refused:
        ingest_sample(
            seed_gateway_record,
            user_in_role("editor", "other"),
            sample_log([text_line(http("new.example", "1.2.3.4"))]),
        )
    assert refused.value.status == 409
    assert ObservationUpload.objects.count() == 1


def test_labels_without_a_namespace_and_bad_labels_are_refused(seed_gateway_record) -> None:
    editor = user_in_role("editor")
    for sources, path in [
        (discovery.SourceSpec(labels={"app": "web"}), "namespace"),
        (discovery.SourceSpec(namespace="Not_A_Namespace"), "namespace"),
        (discovery.SourceSpec(namespace="shop", labels={"a,b": "c"}), "labels"),
    ]:
        with pytest.raises(discovery.DiscoveryError) as refused:
            discovery.ingest(seed_gateway_record, [log_input(sample_log())], sources, user=editor)
        assert refused.value.path == path
    with pytest.raises(discovery.DiscoveryError):
        discovery.parse_labels("app")


def test_propose_and_save_creates_the_policy_of_a_gateway_without_one(seed_gateway_record) -> None:
    editor = user_in_role("editor")
    ingest_sample(seed_gateway_record, editor)
    ids = list(ObservedFlow.objects.values_list("pk", flat=True))
    result = discovery.propose(seed_gateway_record, ids, user=editor, save=True)
    policy = EgressPolicy.objects.get(gateway=seed_gateway_record)
    assert result.created_policy == policy and result.as_dict()["policy"] == policy.name
    assert result.as_dict()["draftVersion"] == 1 and result.as_dict()["saved"] is True
    assert discovery.replay(seed_gateway_record, "draft").report.counts()["broken"] == 0


def test_propose_with_nothing_new_to_allow_saves_nothing(seed_policy_record) -> None:
    editor = user_in_role("editor")
    ingest_sample(seed_policy_record.gateway, editor)
    kept = ObservedFlow.objects.filter(host="www.httpbin.org", port=80).values_list("pk", flat=True)
    result = discovery.propose(seed_policy_record.gateway, list(kept), user=editor)
    assert result.proposal.already_allowed and not result.proposal.covered
    with pytest.raises(discovery.DiscoveryError):
        discovery.propose(seed_policy_record.gateway, list(kept), user=editor, save=True, expected_version=1)


def test_replay_for_review_uses_the_reviews_revision(reviewed_policy, author) -> None:
    assert discovery.replay_for_review(reviews.submit_review(reviewed_policy, user=author)) is None
    ingest_sample(reviewed_policy.gateway, author)
    edit_port(reviewed_policy, 81, author)
    review = reviewed_policy.reviews.order_by("-pk").first()
    result = discovery.replay_for_review(review)
    assert result is not None
    assert result.against == {"kind": "review", "review": review.pk, "revision": review.revision.number}
    assert result.flows == 4 and result.report.counts()["broken"] >= 1


@override_settings(EGRESS_OBSERVATION_RETENTION_DAYS=30)
def test_prune_keeps_what_an_upload_touched_within_the_retention_period(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("editor"))
    ObservedFlow.objects.filter(host="api.example.com").update(updated_at=timezone.now() - timedelta(days=31))
    assert discovery.prune() == 1
    assert ObservedFlow.objects.count() == 3


def test_admin_delete_is_refused_to_editors(seed_gateway_record) -> None:
    ingest_sample(seed_gateway_record, user_in_role("editor"))
    with pytest.raises(discovery.DiscoveryForbidden):
        discovery.delete_observations(seed_gateway_record, user=user_in_role("editor", "another"))
    assert discovery.delete_observations(seed_gateway_record, user=user_in_role("admin")) == 4
    assert not ObservationUpload.objects.exists()
    entries = AuditEntry.objects.filter(action__startswith="observations.").order_by("pk")
    assert [(e.action, e.actor) for e in entries] == [
        ("observations.upload", "editor-user"),
        ("observations.delete", "admin-user"),
    ]
    assert entries[0].result["created"] == 4 and entries[1].result == {"gateway": "egressgateway", "deleted": 4}
    assert "httpbin" not in json.dumps(entries[0].result)


def test_sample_lines_are_both_encodings() -> None:
    lines = sample_log_lines()
    assert any(line.startswith("{") for line in lines) and any(line.startswith("[") for line in lines)
