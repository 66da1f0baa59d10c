"""Console pages and the JSON endpoints the policy editor calls."""

from django.urls import path
from django.views.generic import RedirectView

from policies.views import (
    apply,
    audit,
    clusters,
    discover,
    gateways,
    history,
    importing,
    policy,
    preview,
    reviews,
    simulate,
)

app_name = "policies"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="policies:gateway-list"), name="home"),
    path("gateways/", gateways.gateway_list, name="gateway-list"),
    path("gateways/<slug:name>/", gateways.gateway_detail, name="gateway-detail"),
    path("gateways/<slug:gateway_name>/new-policy/", policy.policy_new, name="policy-new"),
    path("gateways/<slug:gateway_name>/create-policy/", policy.policy_create, name="policy-create"),
    path("gateways/<slug:gateway_name>/preview/", preview.preview, name="preview"),
    path("gateways/<slug:gateway_name>/simulate/", simulate.simulate, name="simulate"),
    path("gateways/<slug:gateway_name>/reachability/", simulate.reachability, name="reachability"),
    path("policies/", policy.policy_list, name="policy-list"),
    path("policies/<slug:name>/", policy.policy_edit, name="policy-edit"),
    path("policies/<slug:name>/save/", policy.policy_save, name="policy-save"),
    path("policies/<slug:name>/commit/", policy.policy_commit, name="policy-commit"),
    path("policies/<slug:name>/revisions/<int:number>/", history.revision_detail, name="revision-detail"),
    path("policies/<slug:name>/export/<str:kind>.yaml", history.export, name="policy-export"),
    path("import/", importing.import_policy, name="import"),
    path("clusters/", clusters.cluster_list, name="cluster-list"),
    path("clusters/new/", clusters.cluster_new, name="cluster-new"),
    path("clusters/<slug:name>/", clusters.cluster_detail, name="cluster-detail"),
    path("clusters/<slug:name>/edit/", clusters.cluster_edit, name="cluster-edit"),
    path("clusters/<slug:name>/delete/", clusters.cluster_delete, name="cluster-delete"),
    path("clusters/<slug:name>/check/", clusters.cluster_check, name="cluster-check"),
    path("policies/<slug:name>/submit/", reviews.policy_submit, name="policy-submit"),
    path("policies/<slug:name>/revisions/<int:number>/restore/", reviews.revision_restore, name="revision-restore"),
    path("reviews/", reviews.review_list, name="review-list"),
    path("reviews/<int:pk>/", reviews.review_detail, name="review-detail"),
    path("reviews/<int:pk>/plan/", reviews.review_plan_fragment, name="review-plan"),
    path("reviews/<int:pk>/decide/", reviews.review_decide, name="review-decide"),
    path("reviews/<int:pk>/apply/", apply.apply_start, name="review-apply"),
    path("jobs/<int:pk>/", apply.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", apply.job_progress_json, name="job-progress"),
    path("audit/", audit.audit_list, name="audit-list"),
    path("discover/", discover.discover, name="discover"),
    path("discover/upload/", discover.discover_upload, name="discover-upload"),
    path("discover/propose/", discover.discover_propose, name="discover-propose"),
    path("discover/delete/", discover.discover_delete, name="discover-delete"),
    path("reviews/<int:pk>/replay/", discover.review_replay_fragment, name="review-replay"),
]
