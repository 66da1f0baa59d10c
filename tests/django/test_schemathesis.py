"""Property-based run of the whole OpenAPI document against the API (schemathesis over WSGI).

Every operation gets its schema examples (the seed's policies) plus a bounded, derandomised set
of generated requests, valid and invalid. Whatever they send, the API must never answer 5xx
and every answer must match the documented status codes, content types and schemas.
"""

import pytest
import schemathesis
from django.contrib.auth.models import Group
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.media_types import YAML_MEDIA_TYPES
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from policies import reviews, services
from policies.core.yamlio import load_all
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import Cluster, EgressPolicy, Review
from tests.fixtures.api import seed_cr

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# NB: loaded at collection through the real URL, so the test covers the schema as served.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# NB: the coverage phase enumerates hundreds of boundary cases per operation; the examples
# phase (the seed's policies) plus 15 generated cases keep the run bounded and deterministic.
schema.config.phases.coverage.enabled = False
# NB: smoke too, so it also runs on SQLite (the make run default), not only on PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Detach Django's per-request connection recycling, as its own test client does.

    NB: the WSGI app closes a connection whose autocommit differs from the settings when a
    request ends, and inside pytest-django's test transaction it always does: on PostgreSQL the
    next query would then fail with "the connection is closed".
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schemathesis.deserializer(*YAML_MEDIA_TYPES)
def yaml_documents(ctx, response):
    """A YAML body as its data; the manifests' YAML stream is documented as text, so it stays text."""
    if ctx.operation.path.endswith("/manifests/") and response.status_code == 200:
        return response.content.decode()
    documents = [document.data for document in load_all(response.content)]
    return documents[0] if len(documents) == 1 else documents


def stored_state(editor):
    """The seed gateway and its policy, recreated when a generated DELETE removed them."""
    gateway = ensure_seed_gateway()
    policy = EgressPolicy.objects.select_related("draft").filter(gateway=gateway).first()
    return policy or services.create_policy(seed_cr("2"), user=editor, message="schemathesis")


def open_review(policy, author):
    """An open review of the policy by ``author`` (submitted when none is open), for the review endpoints."""
    existing = Review.objects.filter(policy=policy, state="in_review").first()
    return existing or reviews.submit_review(policy, user=author, message="schemathesis")


def cluster_state(editor):
    """A stored in-cluster cluster (its check fails fast here: no service account), managed by the token user."""
    # NB: admin and operator for the cluster operations only, so register/edit/delete/check run instead of 403s.
    editor.groups.add(*Group.objects.filter(name__in=["admin", "operator"]))
    return Cluster.objects.get_or_create(name="schemathesis", defaults={"in_cluster": True})[0].name


def pin(case, parameter, value):
    """Point a generated path parameter at a stored object, deterministically for half of the values."""
    generated = (case.path_parameters or {}).get(parameter)
    if generated is not None and len(str(generated)) % 2 == 0:
        case.path_parameters[parameter] = value


@schema.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_response_matches_the_schema(case, editor, admin_user):
    # given the seed state, addressed by about half of the generated requests
    policy = stored_state(editor)
    # NB: the token user also holds the workflow roles, so the review steps run instead of all being 403s.
    editor.groups.add(*Group.objects.filter(name__in=["editor", "approver"]))
    reviewed = case.path.startswith("/api/v1/reviews/")
    pin(case, "id", open_review(policy, admin_user).pk if reviewed else policy.pk)
    pin(case, "number", 1)
    pin(case, "name", cluster_state(editor) if case.path.startswith("/api/v1/clusters/") else policy.gateway.name)
    if "If-Match" in (case.headers or {}):
        case.headers["If-Match"] = f'"{policy.draft.version}"'
    token = Token.objects.get_or_create(user=editor)[0].key
    # when / then
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
