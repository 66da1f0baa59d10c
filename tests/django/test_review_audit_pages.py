"""The audit page shows each entry's manifests (folded, as YAML, no query per entry), filters by a policy's name or
id, fits its hash; the review page plans with the target the policy is deployed with, says why, and translates the
plan's action labels."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
import yaml
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from policies import audit
from policies.cluster.discovery import ASM
from policies.cluster.fake import FakeClusterApi
from policies.core.review import Role
from policies.models import ApplyRecord, AuditEntry, Cluster, Review
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db

MANIFESTS = [
    {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "httpbin"}},
    {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "httpbin-mesh"}},
]


def client_as(role: str) -> Client:
    client = Client()
    client.force_login(user_in_role(role))
    return client


def applied_entry(review: Review, manifests: list[Any] = MANIFESTS) -> AuditEntry:
    return audit.append_entry(
        action="review.apply",
        policy=review.policy,
        revision=review.revision,
        cluster="east",
        target="istio",
        manifests=manifests,
    )


def manifest_blocks(page: str) -> list[str]:
    return [
        html_lib.unescape(block)
        for block in re.findall(
            r'<pre class="code audit-yaml" data-testid="audit-manifests-yaml">(.*?)</pre>', page, re.S
        )
    ]


# -- the audit page --------------------------------------------------------------------------------------------


def test_each_entry_with_manifests_folds_them_out_as_yaml_closed_by_default(open_review: Review) -> None:
    entry = applied_entry(open_review)
    page = client_as(Role.VIEWER.value).get("/audit/").content.decode()
    assert page.count('data-testid="audit-manifests"') == 1
    assert f'data-entry="{entry.pk}"' in page
    assert "<details open" not in page
    (shown,) = manifest_blocks(page)
    assert list(yaml.safe_load_all(shown)) == MANIFESTS
    assert shown.index("kind: ServiceEntry") < shown.index("kind: VirtualService")  # NB: in the order applied


def test_the_manifests_cost_no_query_per_entry(open_review: Review) -> None:
    client = client_as(Role.VIEWER.value)
    applied_entry(open_review)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/audit/").status_code == 200
        return len(captured)

    one = queries()
    for _ in range(5):
        applied_entry(open_review)
    assert queries() == one
    assert len(manifest_blocks(client.get("/audit/").content.decode())) == 6


def test_manifest_values_are_escaped(open_review: Review) -> None:
    applied_entry(open_review, [{"kind": "ServiceEntry", "metadata": {"name": "<script>alert(1)</script>"}}])
    page = client_as(Role.VIEWER.value).get("/audit/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_the_policy_filter_takes_the_name_as_well_as_the_id(open_review: Review) -> None:
    client = client_as(Role.VIEWER.value)
    policy = open_review.policy
    by_name = client.get(f"/audit/?policy={policy.name}&action=review.submit").content.decode()
    by_id = client.get(f"/audit/?policy={policy.pk}&action=review.submit").content.decode()
    for page in (by_name, by_id):
        assert page.count('data-testid="audit-row"') == 1 and "errorlist" not in page
        assert f'<option value="{policy.name}" selected>' in page  # NB: the select shows the policy either way
        assert f"/api/v1/audit/?policy={policy.pk}&amp;action=review.submit&amp;format=csv" in page


def test_an_unknown_policy_name_says_so(open_review: Review) -> None:
    page = client_as(Role.VIEWER.value).get("/audit/?policy=no-such-policy").content.decode()
    assert "errorlist" in page and "no-such-policy" in page and 'data-testid="audit-row"' not in page


def test_the_page_without_filters_lists_every_entry(open_review: Review) -> None:
    page = client_as(Role.VIEWER.value).get("/audit/").content.decode()  # NB: an unbound form once matched nothing
    assert page.count('data-testid="audit-row"') == AuditEntry.objects.count() > 0


def test_the_hash_is_cut_to_twelve_characters_with_the_whole_in_its_title(open_review: Review) -> None:
    entry = AuditEntry.objects.first()
    assert entry is not None
    page = client_as(Role.VIEWER.value).get("/audit/").content.decode()
    assert f'title="{entry.hash}">{entry.hash[:12]}</td>' in page


def test_a_long_policy_name_may_break_only_after_its_namespace(open_review: Review) -> None:
    policy = open_review.policy
    page = client_as(Role.VIEWER.value).get("/audit/").content.decode()
    assert f'<span class="muted">{policy.namespace}/</span><wbr><span>{policy.name}</span>' in page


# -- the review page's plan ------------------------------------------------------------------------------------


def serve_asm(api: FakeClusterApi) -> None:
    api.groups[ASM] = ("v1",)


def record_apply(review: Review, cluster: Cluster, target: str, *, succeeded: bool = True) -> None:
    ApplyRecord.objects.create(
        cluster=cluster,
        policy=review.policy,
        revision=review.policy.revisions.get(number=1),
        policy_name=review.policy.name,
        policy_namespace=review.policy.namespace,
        action=ApplyRecord.Action.APPLY,
        target=target,
        succeeded=succeeded,
    )


def plan_fragment(review: Review, query: str = "") -> str:
    response = client_as(Role.APPROVER.value).get(f"/reviews/{review.pk}/plan/?cluster=east{query}")
    assert response.status_code == 200
    return response.content.decode()


def planned_target(page: str) -> tuple[str, str]:
    found = re.search(r'data-testid="plan-target" data-source="(\w+)">(.*?)</p>', page, re.S)
    assert found, page
    return found[1], " ".join(found[2].split())


def test_automatic_plans_with_the_target_the_policy_is_deployed_with(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    serve_asm(planning_fake)
    record_apply(open_review, east, "istio")
    record_apply(open_review, east, "asm", succeeded=False)  # NB: a failed switch leaves the istio objects live
    page = plan_fragment(open_review)
    source, said = planned_target(page)
    assert source == "deployed" and "Planned as istio" in said and "east" in said
    assert 'data-action="create"' in page and "ASMEgressTrafficPolicy" not in page.split("plan-table")[1]


def test_with_nothing_deployed_automatic_takes_the_clusters_preference_and_says_so(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    serve_asm(planning_fake)
    source, said = planned_target(plan_fragment(open_review))
    assert source == "discovered" and said.startswith("Planned as asm") and "serves the ASMEgressTrafficPolicy" in said


def test_a_target_chosen_on_the_page_wins_over_the_deployed_one(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    serve_asm(planning_fake)
    record_apply(open_review, east, "istio")
    source, said = planned_target(plan_fragment(open_review, "&target=asm"))
    assert source == "chosen" and said.startswith("Planned as asm")


def test_a_failed_plan_still_says_which_target_it_tried_and_why(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    record_apply(open_review, east, "asm")  # NB: the fake serves no ASM CRD: planning asm fails
    page = plan_fragment(open_review)
    assert 'data-testid="plan-error"' in page
    source, said = planned_target(page)
    assert source == "deployed" and said.startswith("Planned as asm")


def test_the_api_plans_with_the_deployed_target_too(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    serve_asm(planning_fake)
    record_apply(open_review, east, "istio")
    client = APIClient()
    client.force_authenticate(user_in_role(Role.APPROVER.value))
    response = client.get(f"/api/v1/reviews/{open_review.pk}/diff/?against=live&cluster=east")
    assert response.status_code == 200, response.content
    plan = response.json()["plan"]
    assert plan["error"] is None and plan["target"] == "istio"


def test_the_deployed_target_takes_no_extra_query(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi, django_assert_max_num_queries: Any
) -> None:
    record_apply(open_review, east, "istio")
    client = client_as(Role.APPROVER.value)
    url = f"/reviews/{open_review.pk}/plan/?cluster=east"
    client.get(url)
    with django_assert_max_num_queries(7):  # NB: as with a chosen target: the cluster's query carries the last apply
        assert client.get(url).status_code == 200


def test_the_plans_action_labels_are_translated(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    client = client_as(Role.APPROVER.value)
    page = client.get(
        f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    with translation.override("zh-hans"):
        created = translation.pgettext("plan action", "create")
    assert created != "create"
    assert f'data-action="create"><td><span class="tag tag-success">{created}</span>' in page
