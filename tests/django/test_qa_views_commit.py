"""QA regression: "Save as revision" of an unchanged document said "Saved as revision 1."

The service returns the latest revision when the content did not change, so nothing new was
recorded (not even the user's message); the editor now says so instead of claiming a save.
"""

from __future__ import annotations

import json

import pytest

from policies.models import PolicyRevision
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = pytest.mark.django_db
COMMIT = f"/policies/{SEED_POLICY}/commit/"


def commit(client, document, version, message="release"):
    body = {"document": document, "version": version, "message": message}
    return client.post(COMMIT, data=json.dumps(body), content_type="application/json")


def test_committing_an_unchanged_document_says_no_revision_was_made(admin_client, seed_policy_record):
    # when the seed's own document is saved as a revision
    response = commit(admin_client, scenario_document("2"), 1)
    # then the answer names revision 1 and says nothing new was recorded
    assert response.status_code == 200
    body = response.json()
    assert (body["revision"], body["created"]) == (1, False)
    assert body["message"] == "Nothing changed since revision 1, so no new revision was made."
    assert list(PolicyRevision.objects.values_list("number", "message")) == [(1, "Seed scenario 2")]


def test_committing_a_changed_document_makes_a_revision(admin_client, seed_policy_record):
    # when a different document is saved as a revision
    response = commit(admin_client, scenario_document("3"), 1)
    # then revision 2 is made with the message
    body = response.json()
    assert (body["revision"], body["created"], body["message"]) == (2, True, "Saved as revision 2.")
    assert PolicyRevision.objects.get(number=2).message == "release"
