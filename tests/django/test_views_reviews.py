"""Console review pages: the list, the review page (reachability change first), the plan fragment, the decision
panel (each role sees what it may do and why not), submit from the editor, restore a revision, the audit page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from policies import reviews
from policies.cluster.errors import ClusterUnreachable
from policies.cluster.fake import FakeClusterApi
from policies.core.review import Role
from policies.models import AuditEntry, Cluster, Review
from tests.fixtures.review_plans import expand_nothing, kill
from tests.fixtures.reviews import NO_ROLE, ROLES, edit_port, user_in_role

pytestmark = pytest.mark.django_db


def client_as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ids_in(html: str) -> list[str]:
    return re.findall(r'data-testid="([^"]+)"', html)


def test_the_reachability_change_comes_before_the_summary_diffs_and_plan(open_review: Review) -> None:
    page = client_as(user_in_role(Role.APPROVER.value)).get(f"/reviews/{open_review.pk}/")
    assert page.status_code == 200
    ids = ids_in(page.content.decode())
    order = [ids.index(name) for name in ("reachability", "summary", "diffs", "plan-panel")]
    assert order == sorted(order)
    assert "reachability-row" in ids and "diff-pane" in ids


def test_the_rows_are_coloured_by_direction(open_review: Review) -> None:
    html = client_as(user_in_role(Role.VIEWER.value)).get(f"/reviews/{open_review.pk}/").content.decode()
    assert 'class="reach-allowed" data-testid="reachability-row" data-direction="allowed"' in html


def test_an_approver_may_approve_and_reject_but_not_withdraw_and_is_told_why(open_review: Review) -> None:
    html = client_as(user_in_role(Role.APPROVER.value)).get(f"/reviews/{open_review.pk}/").content.decode()
    assert re.search(r'data-testid="approve-button"\s+class="btn btn-primary"\s+>', html)
    assert re.search(r'data-testid="withdraw-button"[^>]*disabled', html)
    assert 'data-action="withdraw" data-code="permission_denied"' in html


def test_the_author_may_withdraw_but_not_approve_because_they_wrote_it(open_review: Review) -> None:
    open_review.author.groups.add(Group.objects.get(name=Role.APPROVER.value))  # type: ignore[union-attr]
    html = client_as(open_review.author).get(f"/reviews/{open_review.pk}/").content.decode()
    assert re.search(r'data-testid="approve-button"[^>]*disabled', html)
    assert 'data-action="approve" data-code="SELF_APPROVAL"' in html
    assert "You authored or edited this revision" in html
    assert not re.search(r'data-testid="withdraw-button"[^>]*disabled', html)


@pytest.mark.parametrize("role", [*ROLES])
def test_each_role_sees_exactly_the_decisions_its_permissions_allow(open_review: Review, role: str) -> None:
    user = user_in_role(role)
    html = client_as(user).get(f"/reviews/{open_review.pk}/").content.decode()
    for action in ("approve", "reject", "withdraw"):
        disabled = bool(re.search(rf'data-testid="{action}-button"[^>]*disabled', html))
        allowed = action in _allowed(open_review, user)
        assert disabled is not allowed, (role, action)


def _allowed(review: Review, user: Any) -> list[str]:
    from policies.core.review import allowed_actions

    facts, actor = reviews.facts_of(Review.objects.get(pk=review.pk)), reviews.actor_of(user)
    return [a.value for a in allowed_actions(facts, actor)]


def test_approving_through_the_console_records_the_comment(open_review: Review) -> None:
    approver = user_in_role(Role.APPROVER.value)
    response = client_as(approver).post(
        f"/reviews/{open_review.pk}/decide/", {"action": "approve", "comment": "port 81 is fine"}
    )
    assert response.status_code == 302
    assert Review.objects.get(pk=open_review.pk).state == "approved"
    assert AuditEntry.objects.filter(action="review.approve", comment="port 81 is fine").exists()


def test_self_approval_through_the_console_is_refused_with_the_reason(open_review: Review) -> None:
    open_review.author.groups.add(Group.objects.get(name=Role.APPROVER.value))  # type: ignore[union-attr]
    client = client_as(open_review.author)
    response = client.post(f"/reviews/{open_review.pk}/decide/", {"action": "approve"}, follow=True)
    assert Review.objects.get(pk=open_review.pk).state == "in_review"
    assert "SELF_APPROVAL" in response.content.decode()


def test_a_viewer_cannot_decide(open_review: Review) -> None:
    client_as(user_in_role(Role.VIEWER.value)).post(f"/reviews/{open_review.pk}/decide/", {"action": "reject"})
    assert Review.objects.get(pk=open_review.pk).state == "in_review"


def test_without_a_role_the_review_pages_are_forbidden(open_review: Review) -> None:
    client = client_as(user_in_role(NO_ROLE))
    assert client.get("/reviews/").status_code == 403
    assert client.get(f"/reviews/{open_review.pk}/").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_the_list_filters_by_state_policy_and_author(open_review: Review) -> None:
    client = client_as(user_in_role(Role.VIEWER.value))
    assert "review-row" in ids_in(client.get("/reviews/?state=in_review&author=author").content.decode())
    assert "review-row" not in ids_in(client.get("/reviews/?state=approved").content.decode())
    assert "review-row" not in ids_in(client.get("/reviews/?policy=other").content.decode())


def test_the_plan_fragment_shows_the_plan_table(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    page = client.get(f"/reviews/{open_review.pk}/?cluster=east&target=istio").content.decode()
    assert f"/reviews/{open_review.pk}/plan/?cluster=east&amp;target=istio" in page
    fragment = client.get(f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio").content.decode()
    assert "plan-table" in ids_in(fragment) and 'data-action="create"' in fragment
    refreshed = client.post(f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio")
    assert refreshed.status_code == 200


def test_a_dead_cluster_shows_its_error_code_in_the_plan_panel(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    kill(planning_fake, ClusterUnreachable("timed out"))
    fragment = client_as(user_in_role(Role.VIEWER.value)).get(
        f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio"
    )
    assert fragment.status_code == 200
    assert 'data-testid="plan-error" data-code="CLUSTER-E001"' in fragment.content.decode()


def test_the_plan_of_an_unknown_cluster_is_404(open_review: Review) -> None:
    client = client_as(user_in_role(Role.VIEWER.value))
    assert client.get(f"/reviews/{open_review.pk}/plan/?cluster=nowhere").status_code == 404


def test_a_rollback_review_says_which_revision_it_restores(open_review: Review, author: Any) -> None:
    reviews.withdraw_review(open_review, user=author)
    client = client_as(author)
    response = client.post(f"/policies/{open_review.policy.name}/revisions/1/restore/")
    assert response.status_code == 302
    response = client.post(f"/policies/{open_review.policy.name}/submit/", {"message": "back to 80"})
    rollback = Review.objects.get(state="in_review")
    assert response["Location"] == f"/reviews/{rollback.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert "review-restores" in ids_in(html) and "restores the content of revision 1" in html


def test_submitting_while_a_review_is_open_says_which(open_review: Review, author: Any) -> None:
    edit_port(open_review.policy, 82, author)
    response = client_as(author).post(f"/policies/{open_review.policy.name}/submit/", {"message": "82"}, follow=True)
    assert f"#{open_review.pk}" in response.content.decode() and "REVIEW_OPEN" in response.content.decode()


def test_the_editor_offers_submit_to_editors_only(open_review: Review, author: Any) -> None:
    url = f"/policies/{open_review.policy.name}/"
    assert "submit-review" in ids_in(client_as(author).get(url).content.decode())
    assert "submit-review" not in ids_in(client_as(user_in_role(Role.APPROVER.value)).get(url).content.decode())


def test_the_revision_page_offers_restore_to_editors_only(open_review: Review, author: Any) -> None:
    url = f"/policies/{open_review.policy.name}/revisions/1/"
    assert "restore-revision" in ids_in(client_as(author).get(url).content.decode())
    assert "restore-revision" not in ids_in(client_as(user_in_role(Role.VIEWER.value)).get(url).content.decode())


def test_the_audit_page_filters_and_links_the_exports(open_review: Review) -> None:
    client = client_as(user_in_role(Role.VIEWER.value))
    html = client.get(f"/audit/?policy={open_review.policy_id}&action=review.submit").content.decode()
    assert ids_in(html).count("audit-row") == 1
    assert f"/api/v1/audit/?policy={open_review.policy_id}&amp;action=review.submit&amp;format=jsonl" in html
    export = client.get(f"/api/v1/audit/?policy={open_review.policy_id}&action=review.submit&format=csv")
    assert export.status_code == 200 and b"review.submit" in b"".join(export.streaming_content)  # type: ignore[attr-defined]
    assert "audit-row" not in ids_in(client.get("/audit/?actor=someone-else").content.decode())


def test_an_invalid_audit_filter_shows_its_error_instead_of_failing(open_review: Review) -> None:
    response = client_as(user_in_role(Role.VIEWER.value)).get("/audit/?since=yesterday&policy=abc")
    assert response.status_code == 200
    html = response.content.decode()
    assert "errorlist" in html and "audit-row" not in ids_in(html)


def test_a_report_that_cannot_be_made_is_explained_on_the_page(open_review: Review) -> None:
    expand_nothing(open_review)
    response = client_as(user_in_role(Role.APPROVER.value)).get(f"/reviews/{open_review.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "report-error" in ids_in(html) and "REVIEW_REPORT_UNAVAILABLE" in html
    assert "decision-panel" in ids_in(html)  # NB: the reviewer can still reject it


def test_the_plan_fragment_shows_the_change_against_what_is_live(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    fragment = client_as(user_in_role(Role.APPROVER.value)).get(
        f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio"
    )
    html = fragment.content.decode()
    assert "live-reachability" in ids_in(html) and 'data-direction="allowed"' in html


@pytest.mark.parametrize("url", ["/reviews/", "/reviews/{pk}/", "/audit/"])
def test_the_pages_render_in_chinese(open_review: Review, url: str) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    response = client.get(url.format(pk=open_review.pk), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_the_review_page_takes_at_most_ten_queries(open_review: Review, django_assert_max_num_queries: Any) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    client.get(f"/reviews/{open_review.pk}/")  # NB: the comparison is cached by content from here on
    with django_assert_max_num_queries(10):
        assert client.get(f"/reviews/{open_review.pk}/").status_code == 200


def test_the_list_takes_the_same_queries_however_many_reviews(open_review: Review, author: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(user_in_role(Role.VIEWER.value))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/reviews/").status_code == 200
        return len(captured)

    one = queries()
    for _ in range(3):
        reviews.withdraw_review(Review.objects.get(state="in_review"), user=author)
        reviews.submit_review(open_review.policy, user=author)
    assert Review.objects.count() == 4 and queries() == one


@pytest.mark.parametrize("path", ["", "plan/?cluster=east", "decide/"])
def test_an_id_past_any_bigint_is_404_not_an_overflow(db: Any, path: str) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    url = f"/reviews/{10**30}/{path}"
    response = client.post(url, {"action": "approve"}) if path == "decide/" else client.get(url)
    assert response.status_code == 404


def test_restoring_a_revision_past_any_bigint_is_refused_not_an_overflow(open_review: Review, author: Any) -> None:
    url = f"/policies/{open_review.policy.name}/revisions/{10**30}/restore/"
    response = client_as(author).post(url, follow=True)
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="revision.restore").exists()


def test_the_cached_plan_takes_a_fixed_number_of_queries(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi, django_assert_max_num_queries: Any
) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    url = f"/reviews/{open_review.pk}/plan/?cluster=east&target=istio"
    client.get(url)
    with django_assert_max_num_queries(7):  # NB: session, user, 2 x permissions, review, ports, cluster
        assert client.get(url).status_code == 200


def test_rejecting_in_the_console_needs_a_comment(open_review: Review) -> None:
    client = client_as(user_in_role(Role.APPROVER.value))
    response = client.post(f"/reviews/{open_review.pk}/decide/", {"action": "reject", "comment": "  "}, follow=True)
    assert Review.objects.get(pk=open_review.pk).state == "in_review"
    assert "why you reject it" in response.content.decode()
    client.post(f"/reviews/{open_review.pk}/decide/", {"action": "reject", "comment": "port 81 is not open upstream"})
    assert Review.objects.get(pk=open_review.pk).state == "rejected"
