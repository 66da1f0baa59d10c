"""Draft saves through the service layer: optimistic locking and unchanged saves."""

from __future__ import annotations

from typing import Any

import pytest

from policies import services
from policies.models import PolicyDraft
from policies.seed import seed_text
from tests.fixtures.console import scenario_document

pytestmark = pytest.mark.django_db


def test_saving_the_unchanged_document_keeps_the_version(seed_policy_record: Any, admin_user: Any) -> None:
    # given a draft at version 1 / when the same document is saved again
    draft = services.save_draft(seed_policy_record, scenario_document("2"), expected_version=1, user=admin_user)
    # then nothing changed, so the version (the API's ETag) stays 1
    assert draft.version == 1
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 1


def test_saving_a_changed_document_bumps_the_version(seed_policy_record: Any, admin_user: Any) -> None:
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["from"][0]["namespace"] = "payments"
    draft = services.save_draft(seed_policy_record, document, expected_version=1, user=admin_user)
    assert draft.version == 2
    assert draft.document["spec"]["egressRules"][0]["from"][0]["namespace"] == "payments"


def test_a_stale_save_is_refused_even_when_it_changes_nothing(seed_policy_record: Any, admin_user: Any) -> None:
    # given someone else moved the draft to version 2
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["from"][0]["namespace"] = "payments"
    services.save_draft(seed_policy_record, document, expected_version=1, user=admin_user)
    # when an editor still at version 1 saves / then it is refused as stale and nothing changes
    with pytest.raises(services.StaleDraft) as refused:
        services.save_draft(seed_policy_record, scenario_document("2"), expected_version=1, user=admin_user)
    assert refused.value.code == "EGRESS-E002"
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 2


def test_text_is_checked_against_the_gateway_it_names(seed_gateway_record: Any) -> None:
    # given a policy text for the seed gateway whose target uses gateway port 8080, which it lacks
    text = seed_text("scenario-1").replace("byEgressGateway:\n        port: 80", "byEgressGateway:\n        port: 8080")
    # when checked without naming a gateway
    checked, _parsed = services.check_text(text)
    # then the stored gateway's ports decide: an error at the target's gateway port, on its line
    errors = [(f.code, f.path, f.line) for f in checked.findings if f.severity == "error"]
    assert errors == [("EGRESS-V17", "spec.egressRules[0].to[0].byEgressGateway.port", 24)]
