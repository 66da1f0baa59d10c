"""Review and push across three users in Chromium, against the real test control plane, in English and Chinese.

The cluster ``dev`` (the session's kube-apiserver + etcd) already runs revision 1 of the seed policy
(scenario 2: mytest/app=sleep-a reaches httpbin). The **editor** adds the source mytest/app=sleep-b in
the policy editor, saves and submits it; they may not approve their own change. The **approver** reads
the reachability change first (sleep-b → httpbin.org going 502 → 200), the summary, the CR and Istio
diffs and the plan on ``dev``, and approves with a comment. The **operator** checks the connection,
dry-runs, then applies, watching per-object progress; the objects are then read back from the
apiserver, and a new check shows dev in sync with revision 2. The audit page shows submit, approve
and apply, and its export the manifests.

In Chinese the journey goes by structure and data-testid; the only labels it reads are "Reachability
change", "Approve" and "Audit log", each compared with its zh-hans catalog entry (and failing while
that entry is missing).

On PostgreSQL (``make test``) the jobs are run by a real ``manage.py db_worker`` process, as in
production; on SQLite (whose test database another process cannot open) by the immediate backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from policies import clusters, jobs, reviews, services
from policies.cluster.delete import delete_policy
from policies.cluster.diff import list_live
from policies.cluster.discovery import capabilities
from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.scope import PolicyScope
from policies.cluster.targets import policy_scope
from policies.core.document import parse_policy_data
from policies.core.review import Role
from policies.job_runner import run_apply_job
from policies.models import ApplyJobObject, AuditEntry, Cluster, Deployment, Review
from tests.browser import pages
from tests.browser.conftest import PASSWORD, fresh_page
from tests.fixtures.cli import REPO
from tests.fixtures.console import SEED_POLICY, scenario_document
from tests.fixtures.jobs import IMMEDIATE
from tests.fixtures.reviews import user_in_role

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLUSTER = "dev"
NEW_SOURCE = "mytest/app=sleep-b"
MESH_CONFIGS = "/api/v1/namespaces/istio-system/configmaps"
MESH_CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "istio", "namespace": "istio-system"},
    "data": {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"},
}


# ---------------------------------------------------------------------------------------------
# The cluster, the people, the worker


def ensure_namespace(plane: Any, name: str) -> None:
    status, body = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert status in (201, 409), body


def put_mesh_config(plane: Any) -> None:
    """The istio ConfigMap in REGISTRY_ONLY mode, replacing one another test (or a failed set-up) left."""
    status, body = plane.request("PUT", f"{MESH_CONFIGS}/istio", MESH_CONFIG)
    if status == 404:
        status, body = plane.request("POST", MESH_CONFIGS, MESH_CONFIG)
    assert status in (200, 201), body


@pytest.fixture
def staff(transactional_db: Any) -> dict[str, Any]:
    """The demo users editor, approver and operator, in their role groups, with the journey's password."""
    people = {}
    for role in (Role.EDITOR, Role.APPROVER, Role.OPERATOR):
        user = user_in_role(role.value, role.value)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        people[role.value] = user
    return people


@pytest.fixture
def dev_cluster(apply_plane: Any, staff: dict[str, Any], seed_gateway_record: Any) -> Iterator[Cluster]:
    """Cluster ``dev`` in REGISTRY_ONLY mode (registered and checked by the admin), running revision 1 of the seed
    policy (scenario 2), reviewed and applied before the journey (so plan and reachability compare with something).

    The session's control plane is shared with the integration tests: the mesh config and the policy's objects
    are removed afterwards."""
    for namespace in ("istio-system", "istio-egress"):
        ensure_namespace(apply_plane, namespace)
    put_mesh_config(apply_plane)
    cluster = Cluster.objects.create(name=CLUSTER, kubeconfig_path=str(apply_plane.kubeconfig_path), context="admin")
    clusters.check_cluster(cluster, user=get_user_model().objects.create_superuser("admin"))
    editor, approver, operator = staff["editor"], staff["approver"], staff["operator"]
    policy = services.create_policy(scenario_document("2"), user=editor, message="Seed scenario 2")
    review = reviews.approve_review(reviews.submit_review(policy, user=editor), user=approver)
    job = jobs.start_apply(review, [cluster], target="istio", dry_run=False, user=operator, enqueue=False)
    assert run_apply_job.call(job.pk) == "succeeded"
    yield cluster
    assert delete_policy(live_api(cluster), scope=seed_scope()).ok
    apply_plane.request("DELETE", f"{MESH_CONFIGS}/istio")


@pytest.fixture
def task_worker(settings: Any) -> Iterator[None]:
    """Something that runs apply jobs: a ``db_worker`` process on PostgreSQL, the immediate backend on SQLite."""
    if connection.vendor != "postgresql":
        settings.TASKS = IMMEDIATE
        yield
        return
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    command = [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.2"]
    worker = subprocess.Popen(command, cwd=REPO, env={**os.environ, "DATABASE_URL": url}, start_new_session=True)
    yield
    exited = worker.poll()
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    assert exited is None, f"the db_worker process exited with {exited} during the journey (its output is above)"


@contextmanager
def person(browser: Any, live_server: Any, username: str, language: str) -> Iterator[Any]:
    """One person's own browser (fresh cookies), signed in and, for Chinese, switched to 简体中文 in the header."""
    with fresh_page(browser, live_server.url, timeout_ms=15_000) as page:
        pages.sign_in(page, username, PASSWORD)
        if language != "en":
            pages.switch_language(page, language)
            assert page.locator("html").get_attribute("lang") == language
        yield page


def label(language: str, english: str) -> str:
    """``english`` as the page shows it in ``language``: from the catalog, and really translated when not English."""
    with translation.override(language):
        shown = gettext(english)
    assert language == "en" or shown != english, f"{english!r} has no {language} translation in locale/"
    return shown


def shoot(language: str, page: Any, name: str, full_page: bool = False) -> None:
    """A README screenshot, from the English journey only."""
    if language == "en":
        pages.snapshot(page, name, full_page=full_page)


# ---------------------------------------------------------------------------------------------
# What each person does


def editor_submits_a_new_source(page: Any) -> int:
    """Add mytest/app=sleep-b to the first rule, save, submit for review; returns the review's id."""
    pages.open_editor(page, f"/policies/{SEED_POLICY}/")
    rule = page.locator("[data-kind=rule]").first
    rule.locator("[data-action=add-from]").click()
    pages.fill_source(rule, "mytest", {"app": "sleep-b"})
    pages.wait_for_preview(page)
    with page.expect_response("**/save/"):
        page.click("[data-action=save]")
    page.wait_for_selector("[data-role=dirty][hidden]", state="attached")
    page.click("[data-testid=submit-review] summary")
    page.fill("[data-testid=submit-message]", "Let sleep-b reach httpbin too")
    page.click("[data-testid=submit-review-button]")
    page.wait_for_url("**/reviews/*/")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def author_may_not_approve(page: Any) -> None:
    """The approve button is disabled for the author, with the reason beside it (an editor's role does not approve;
    an author who may approve is refused SELF_APPROVAL instead, which the permission matrix covers)."""
    assert page.locator("[data-testid=approve-button]").is_disabled()
    reason = page.locator("[data-testid=decision-reason][data-action=approve]")
    assert reason.get_attribute("data-code") == "permission_denied"
    assert reason.inner_text().strip()


def approver_reads_and_approves(page: Any, review_id: int, language: str) -> None:
    page.click("nav.sidenav a[href='/reviews/']")
    page.click(f"main a[href='/reviews/{review_id}/']")
    # Compare with what dev runs, planned for the target the operator will apply (istio).
    compare = page.locator("[data-testid=compare-form]")
    compare.locator("[data-testid=compare-cluster]").select_option(CLUSTER)
    compare.locator("[data-testid=compare-target]").select_option("istio")
    compare.locator("button[type=submit]").click()
    page.wait_for_url(f"**/reviews/{review_id}/?cluster={CLUSTER}&target=istio")
    # The reachability change is the first panel: sleep-b reaches httpbin, which it could not before.
    first_panel = page.locator(".review-main > section").first
    assert first_panel.get_attribute("data-testid") == "reachability"
    assert first_panel.locator(".panel-title").inner_text() == label(language, "Reachability change")
    rows = page.locator("[data-testid=reachability-row]")
    changes = {
        (row.locator(".reach-source").inner_text(), row.locator(".reach-url").inner_text()): (
            row.locator(".status").nth(0).inner_text(),
            row.locator(".status").nth(1).inner_text(),
            row.get_attribute("data-direction"),
        )
        for row in rows.all()
    }
    assert changes[(NEW_SOURCE, "http://httpbin.org/")] == ("502", "200", "allowed")
    assert {direction for *_, direction in changes.values()} == {"allowed"}
    assert all(source == NEW_SOURCE for source, _ in changes)
    # The summary names the new source; the CR diff adds its lines; the Istio tab lists the changed object.
    summary = page.locator("[data-testid=summary-item]")
    assert summary.count() == 1 and "sleep-b" in summary.inner_text()
    inserted = page.locator("[data-panel=diff-cr] tr.diff-insert .diff-new").all_inner_texts()
    assert any("sleep-b" in line for line in inserted), inserted
    page.click("[role=tab][data-tab=diff-istio]")
    changed = page.locator("[data-testid=object-diff][data-status=changed]")
    assert changed.count() >= 1
    page.click("[role=tab][data-tab=diff-cr]")
    # The plan on dev, from its server-side dry run: the mesh-side VirtualService changes, nothing is created or pruned.
    page.locator("[data-testid=plan-summary]").wait_for()
    planned = page.locator("[data-testid=plan-row]").evaluate_all(
        "rows => rows.map(r => [r.dataset.action, r.querySelector('.plan-object').textContent])"
    )
    assert {action for action, _ in planned} == {"change", "unchanged"}, planned
    changed = [name for action, name in planned if action == "change"]
    assert changed == [f"istio-egress/{SEED_POLICY}-httpbin-service-http-mesh"], planned
    page.evaluate("window.scrollTo(0, 0)")
    shoot(language, page, "review")
    shoot(language, page, "review-full", full_page=True)
    # Approve with a comment.
    assert page.locator("[data-testid=approve-button]").inner_text().strip() == label(language, "Approve")
    page.fill("[data-testid=decision-comment]", "sleep-b needs httpbin for its health checks; plan looks right")
    page.click("[data-testid=approve-button]")
    page.wait_for_selector("[data-testid=decision-log]")
    assert page.locator(".decision-log .tag-success").count() == 1
    assert "health checks" in page.locator(".decision-comment").inner_text()


def operator_checks_the_cluster(page: Any, language: str) -> None:
    page.goto(f"/clusters/{CLUSTER}/")
    with page.expect_navigation():
        page.click("[data-testid=check-connection]")
    assert "operator" in page.locator("[data-testid=last-check] dl").inner_text()  # NB: checked now, by them
    assert page.locator("[data-testid=check-error]").count() == 0
    targets = page.locator("[data-testid=last-check] .tag-plain").all_inner_texts()
    assert "istio" in targets
    assert "REGISTRY_ONLY" in page.locator("[data-testid=mesh-mode]").inner_text()
    page.goto("/clusters/")
    shoot(language, page, "clusters")


def operator_runs(page: Any, review_id: int, *, dry_run: bool) -> dict[str, str]:
    """Start a job on dev from the review's apply panel and wait for its end; returns the summary row's cells."""
    page.goto(f"/reviews/{review_id}/")
    panel = page.locator("[data-testid=apply-panel]")
    panel.locator("[data-testid=apply-clusters]").select_option([CLUSTER])
    panel.locator("[data-testid=apply-target]").select_option("istio")
    panel.locator("[data-testid=apply-dry-run]").set_checked(dry_run)
    with page.expect_response("**/apply/") as started:
        panel.locator("[data-testid=apply-button]").click()
    assert started.value.status == 202, started.value.text()
    job = started.value.json()["job"]
    done = panel.locator(f"[data-testid=job-progress][data-job='{job}'][data-done=true]")
    done.wait_for(timeout=45_000)
    row = panel.locator(f"[data-testid=job-summary] tbody tr[data-cluster={CLUSTER}]")
    titles = ["cluster", "state", "created", "configured", "unchanged", "pruned", "failed", "skipped", "pending"]
    cells = dict(zip(titles, row.locator("td").all_inner_texts(), strict=True))
    cells["job"], cells["jobId"] = done.get_attribute("data-state"), str(job)
    cells["row"] = row.get_attribute("data-state")
    return cells


def operator_opens_the_job(page: Any, job: str, language: str) -> None:
    """The job's own page (linked from the panel's recent jobs once the review page is reloaded) shows the same
    final table, object by object."""
    page.reload()
    page.click(f"[data-testid=apply-jobs] a[href='/jobs/{job}/']")
    page.wait_for_url(f"**/jobs/{job}/")
    objects = page.locator(f"[data-testid=job-cluster][data-cluster={CLUSTER}] tbody tr")
    assert set(objects.evaluate_all("rows => rows.map(r => r.dataset.outcome)")) == {"configured", "unchanged"}
    shoot(language, page, "apply-result", full_page=True)


def operator_sees_dev_in_sync(page: Any) -> None:
    """After checking the connection again, dev runs revision 2 of the policy, in sync with its live objects."""
    page.goto(f"/clusters/{CLUSTER}/")
    with page.expect_navigation():
        page.click("[data-testid=check-connection]")
    status = page.locator(f"[data-testid=policy-status] tr[data-policy={SEED_POLICY}]")
    assert status.locator("td").nth(1).inner_text().startswith("#2")
    assert status.locator("[data-testid=drift] .tag-success").count() == 1


def audit_shows_the_journey(page: Any, review: Review, language: str) -> None:
    page.click("nav.sidenav a[href='/audit/']")
    assert page.locator("h1").inner_text().strip() == label(language, "Audit log")
    filters = page.locator("[data-testid=audit-filters]")
    filters.locator("[name=policy]").select_option(label=SEED_POLICY)
    filters.locator("button[type=submit]").click()
    page.wait_for_url("**/audit/?*")
    rows = page.locator("[data-testid=audit-row]")
    revision = f"#{review.revision.number}"
    mine = [row.get_attribute("data-action") for row in rows.all() if revision in row.inner_text()]
    assert mine == ["review.apply", "review.apply_start", "review.dry_run", "review.approve", "review.submit"], mine
    entry = AuditEntry.objects.get(action="review.apply", revision_number=review.revision.number)
    applied = rows.filter(has_text=revision).first
    where = applied.locator("td").nth(6).inner_text()  # NB: the cluster column: name, target, manifest count
    assert CLUSTER in where and str(len(entry.manifests)) in where, where
    # The page's JSON Lines export holds the same entries with the manifests applied.
    export = page.request.get(page.locator("[data-testid=export-jsonl]").get_attribute("href"))
    exported = [json.loads(line) for line in export.text().splitlines()]
    manifests = next(e["manifests"] for e in exported if e["action"] == "review.apply" and e["revision"] == 2)
    assert {m["kind"] for m in manifests} >= {"ServiceEntry", "VirtualService", "Gateway"}
    shoot(language, page, "audit")


# ---------------------------------------------------------------------------------------------
# The journey


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_editor_submits_approver_approves_operator_applies_to_the_control_plane(
    browser: Any, live_server: Any, staff: dict[str, Any], dev_cluster: Cluster, task_worker: None, language: str
) -> None:
    with person(browser, live_server, "editor", language) as editor:
        review_id = editor_submits_a_new_source(editor)
        author_may_not_approve(editor)
    review = Review.objects.select_related("revision").get(pk=review_id)
    assert (review.state, review.revision.number, review.message) == ("in_review", 2, "Let sleep-b reach httpbin too")

    with person(browser, live_server, "approver", language) as approver:
        approver_reads_and_approves(approver, review_id, language)
    assert Review.objects.get(pk=review_id).state == "approved"

    with person(browser, live_server, "operator", language) as operator:
        operator_checks_the_cluster(operator, language)
        dry = operator_runs(operator, review_id, dry_run=True)
        assert (dry["job"], dry["row"], dry["failed"], dry["pending"]) == ("succeeded", "succeeded", "0", "0")
        applied = operator_runs(operator, review_id, dry_run=False)
        operator_opens_the_job(operator, applied["jobId"], language)
        operator_sees_dev_in_sync(operator)
    # sleep-b's source changes the AuthorizationPolicy only; every other object is already what revision 2 wants.
    assert (applied["job"], applied["created"], applied["pruned"], applied["failed"]) == ("succeeded", "0", "0", "0")
    assert int(applied["configured"]) >= 1 and int(applied["unchanged"]) >= 1
    assert list(Deployment.objects.filter(cluster=dev_cluster, review=review).values_list("state", flat=True)) == [
        "applied"
    ]

    # The apiserver holds exactly the objects the job reports, the mesh-side routes now matching sleep-b too.
    live = live_policy_objects(dev_cluster)
    reported = ApplyJobObject.objects.filter(job_cluster__job_id=int(applied["jobId"]))
    assert sorted(live) == sorted(reported.values_list("kind", "namespace", "name"))
    assert any("sleep-b" in str(obj) for _, obj in live.values())

    with person(browser, live_server, "operator", language) as operator:
        audit_shows_the_journey(operator, review, language)


def live_api(cluster: Cluster) -> KubernetesClusterApi:
    return KubernetesClusterApi.from_kubeconfig(cluster.kubeconfig_path, cluster.context)


def seed_scope() -> PolicyScope:
    """The seed policy's scope: the labels its objects carry on a cluster."""
    policy = parse_policy_data(scenario_document("2")).policy
    assert policy is not None
    return policy_scope(policy)


def live_policy_objects(cluster: Cluster) -> dict[Any, Any]:
    """What the apiserver holds for the seed policy now (every object labelled for it)."""
    api = live_api(cluster)
    return list_live(api, caps=capabilities(api), scope=seed_scope())
