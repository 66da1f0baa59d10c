"""``egress apply --policy/--review --user --cluster`` applies only what was approved, through the review's rules,
and records the job, the deployment and the audit entry; ``egress apply FILE`` stays the out-of-band tool."""

from __future__ import annotations

from typing import Any

import pytest

from policies.core.review import Role
from policies.models import ApplyJob, AuditEntry, Deployment, Review
from tests.fixtures.cli import egress
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db(transaction=True)

POLICY = "egress-by-egressgateway"


def test_the_policy_s_approved_revision_is_applied_as_the_named_operator(
    approved_review: Review, operator: Any, fake_clusters: Any
) -> None:
    code, out, err = egress("apply", "--policy", POLICY, "--user", "operator", "--cluster", "a", "--target", "istio")

    assert (code, err) == (0, "")
    job = ApplyJob.objects.get()
    assert (job.review_id, job.user, job.state, job.target) == (approved_review.pk, operator, "succeeded", "istio")
    assert out.splitlines()[0].split() == ["KIND", "NAMESPACE/NAME", "OUTCOME", "DETAILS"]
    created = len(fake_clusters["a"].objects)
    assert out.splitlines()[-1] == (
        f"apply of review #{approved_review.pk} (revision 2, target istio) on a: {created} created [job #{job.pk}]"
    )
    assert Deployment.objects.get().state == "applied"
    entry = AuditEntry.objects.get(action="review.apply")
    assert (entry.actor, entry.cluster, entry.revision_number) == ("operator", "a", 2)


def test_a_dry_run_by_review_id_writes_nothing(approved_review: Review, operator: Any, fake_clusters: Any) -> None:
    code, out, _ = egress(
        "apply", "--review", str(approved_review.pk), "--user", "operator", "--cluster", "b", "--target", "istio",
        "--dry-run",
    )  # fmt: skip

    assert code == 0 and "dry run of review" in out
    assert fake_clusters["b"].objects == {} and Deployment.objects.count() == 0


def test_a_draft_without_an_approved_review_is_never_applied(open_review: Review, fake_clusters: Any) -> None:
    user_in_role(Role.OPERATOR.value, "operator")

    code, _, err = egress("apply", "--policy", POLICY, "--user", "operator", "--cluster", "a", "--target", "istio")

    assert code == 2
    assert f"policy '{POLICY}' has no approved review" in err
    assert ApplyJob.objects.count() == 0 and fake_clusters["a"].objects == {}


def test_an_open_review_named_by_id_is_refused_with_its_code(open_review: Review, fake_clusters: Any) -> None:
    user_in_role(Role.OPERATOR.value, "operator")

    code, _, err = egress("apply", "--review", str(open_review.pk), "--user", "operator", "--cluster", "a")

    assert code == 1
    assert err.startswith("egress apply: error INVALID_TRANSITION: ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "add --user NAME"),
        (["--user", "ghost"], "no console user named 'ghost'"),
        (["--user", "operator"], "use --cluster NAME"),
        (["--user", "operator", "--cluster", "nowhere"], "There is no cluster named nowhere."),
        (["--user", "operator", "--cluster", "a", "--force-conflicts"], "--force-conflicts is for out-of-band"),
        (["--user", "operator", "--cluster", "a", "--review", "999999"], "no review #999999"),
    ],
)
def test_usage_errors(
    approved_review: Review, operator: Any, fake_clusters: Any, extra: list[str], message: str
) -> None:
    code, _, err = egress("apply", "--policy", POLICY, *extra)

    assert code == 2 and message in err, err
    assert ApplyJob.objects.count() == 0
