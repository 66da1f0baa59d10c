"""Regressions found by exploratory testing of the cluster verbs against the real kube-apiserver.

Same isolation as test_apply_cli: each test owns a gateway (and so a policy name) and a gateway
namespace, and deletes what it applied.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.test_apply_cli import egress, flags, policy_file  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def test_drift_of_a_file_names_the_file_as_its_reference_not_the_last_applied_revision(
    policy_file,  # noqa: F811
    flags,  # noqa: F811
    tmp_path,
):
    # Given: the policy is applied, then the file is edited (a new host) and not applied
    path, data = policy_file
    name = data["metadata"]["name"]
    assert egress("apply", str(path), *flags)[0] == 0
    data["spec"]["egressRules"][0]["to"][0]["hosts"].append("api.httpbin.org")
    data["spec"]["egressRules"][0]["to"][1]["hosts"].append("api.httpbin.org")
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))

    # When
    code, out, _ = egress("drift", str(edited), *flags)

    # Then: the cluster holds exactly the last applied revision; what differs from it is the file
    assert code == 1
    assert out.splitlines()[-1] == f"drift of istio-egress/{name}: 4 of 6 object(s) differ from {edited}"
    assert egress("delete", str(path), *flags)[0] == 0
