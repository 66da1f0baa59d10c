"""The API and the console render the same policy to byte-identical YAML.

Both go through the core (``dump_policy``, ``dump_yaml_all(expand_policy(...))``); these tests
pin that down for the seed scenarios and a 50-target policy, against the core itself, the
console's download and the editor's live preview.
"""

import pytest

from policies import services
from policies.core.document import dump_policy
from policies.core.expansion import expand_policy
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.yamlio import dump_yaml_all
from tests.fixtures.api import seed_cr
from tests.fixtures.console import policy_with_targets

pytestmark = pytest.mark.django_db

DOCUMENTS = {
    "scenario 1": lambda: seed_cr("1"),
    "scenario 2": lambda: seed_cr("2"),
    "scenario 3": lambda: seed_cr("3"),
    "scenario 4": lambda: seed_cr("4"),
    "50 targets": lambda: policy_with_targets(50),
}


@pytest.fixture(params=sorted(DOCUMENTS))
def stored_policy(request, api_gateway, editor):
    """Each document stored as the seed gateway's policy."""
    return services.create_policy(DOCUMENTS[request.param](), user=editor)


@pytest.fixture
def console_client(client, editor):
    """The console's test client, signed in as the editor."""
    client.force_login(editor)
    return client


def api_manifests(api_client, policy, target):
    response = api_client.get(f"/api/v1/policies/{policy.pk}/manifests/?target={target}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    return response.content.decode()


def test_asm_manifest_is_the_core_canonical_yaml_and_the_console_download(api_client, console_client, stored_policy):
    # given
    model = PolicyModel.model_validate(stored_policy.draft.document)
    # when
    api_yaml = api_manifests(api_client, stored_policy, "asm")
    console_yaml = console_client.get(f"/policies/{stored_policy.name}/export/cr.yaml").content.decode()
    # then
    assert api_yaml == dump_policy(model)
    assert api_yaml == console_yaml


def test_istio_manifest_is_the_core_expansion_and_the_console_download(api_client, console_client, stored_policy):
    model = PolicyModel.model_validate(stored_policy.draft.document)
    expected = dump_yaml_all(expand_policy(model, stored_policy.gateway.describe(), services.translation_settings()))
    api_yaml = api_manifests(api_client, stored_policy, "istio")
    console_yaml = console_client.get(f"/policies/{stored_policy.name}/export/istio.yaml").content.decode()
    assert api_yaml == expected
    assert api_yaml == console_yaml


def test_manifests_match_the_editor_preview(api_client, console_client, stored_policy):
    # when the editor previews the stored draft
    response = console_client.post(
        f"/gateways/{stored_policy.gateway.name}/preview/",
        data={"document": stored_policy.draft.document},
        content_type="application/json",
    )
    preview = response.json()
    # then it shows exactly what the API renders
    assert preview["yaml"] == api_manifests(api_client, stored_policy, "asm")
    # NB: the editor shows one YAML block per object; as a stream they are joined by "---".
    assert "---\n".join(obj["yaml"] for obj in preview["objects"]) == api_manifests(api_client, stored_policy, "istio")


def test_json_manifests_are_the_same_objects(api_client, stored_policy):
    model = PolicyModel.model_validate(stored_policy.draft.document)
    url = f"/api/v1/policies/{stored_policy.pk}/manifests/?target=istio"
    response = api_client.get(url, HTTP_ACCEPT="application/json")
    assert response.json() == expand_policy(model, stored_policy.gateway.describe(), services.translation_settings())
