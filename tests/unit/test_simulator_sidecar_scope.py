"""Sidecar resources: which one applies to a proxy, and what its egress hosts import."""

from __future__ import annotations

import pytest

from policies.core.simulator import SimulationInputError
from policies.core.simulator.sidecar_scope import read_sidecar, scope_for


def sidecar(name: str, namespace: str, spec: dict, created: str = "") -> object:
    return read_sidecar(f"{namespace}/{name}", namespace, spec, created)


def test_a_selector_in_the_own_namespace_wins_then_the_namespace_default_then_the_root_default() -> None:
    # given a root default, a namespace default and a selector Sidecar in mytest
    root = sidecar("default", "istio-system", {})
    namespace_default = sidecar("default", "mytest", {})
    selected = sidecar("only-a", "mytest", {"workloadSelector": {"labels": {"app": "a"}}})
    sidecars = [root, namespace_default, selected]

    # then each proxy gets the most specific one
    assert scope_for(sidecars, "mytest", {"app": "a", "v": "1"}) is selected
    assert scope_for(sidecars, "mytest", {"app": "b"}) is namespace_default
    assert scope_for(sidecars, "other", {"app": "a"}) is root
    assert scope_for([selected], "other", {"app": "a"}) is None


@pytest.mark.parametrize(
    ("egress", "namespace", "host", "imported"),
    [
        (["./*"], "mytest", "api.example.com", True),
        (["./*"], "team-a", "api.example.com", False),
        (["*/*.example.com"], "team-a", "api.example.com", True),
        (["*/*.example.com"], "team-a", "example.com", False),
        (["team-a/api.example.com"], "team-a", "api.example.com", True),
        (["~/*"], "mytest", "api.example.com", False),
    ],
)
def test_egress_hosts_import_by_namespace_and_host(
    egress: list[str], namespace: str, host: str, imported: bool
) -> None:
    scope = sidecar("default", "mytest", {"egress": [{"hosts": egress}]})
    assert scope.imports(namespace, host, "mytest") is imported  # NB: a proxy of the Sidecar's own namespace


@pytest.mark.parametrize(
    "spec",
    [
        {"egress": [{"port": {"number": 80, "protocol": "HTTP", "name": "h"}, "hosts": ["./*"]}]},
        {"egress": [{"hosts": ["no-namespace"]}]},
        {"outboundTrafficPolicy": {"mode": "ALLOW_ANY", "egressProxy": {"host": "x"}}},
        {"egress": [{"hosts": ["./*"], "captureMode": "NONE"}]},
    ],
)
def test_what_changes_listeners_beyond_imports_is_refused(spec: dict) -> None:
    with pytest.raises(SimulationInputError) as refused:
        sidecar("default", "mytest", spec)
    assert refused.value.code in {"EGRESS-SIM13", "EGRESS-SIM12"}


def test_dot_means_the_proxy_namespace_when_the_root_default_applies_elsewhere() -> None:
    # given the root namespace's default importing only "./*" (istio/istio pilot/pkg/model/sidecar.go
    # convertIstioListenerToWrapper resolves "." to the config namespace the scope is built for)
    root = sidecar("default", "istio-system", {"egress": [{"hosts": ["./*"]}]})

    # then a proxy in team-a imports team-a's services, not istio-system's
    assert root.imports("team-a", "api.example.com", "team-a") is True
    assert root.imports("istio-system", "api.example.com", "team-a") is False


def test_inbound_only_fields_are_read_past() -> None:
    # ingress listeners and the inbound pool shape what reaches the workload, never its outbound requests
    spec = {
        "ingress": [{"port": {"number": 9080, "protocol": "HTTP", "name": "http"}, "defaultEndpoint": ":8080"}],
        "inboundConnectionPool": {"http": {"http1MaxPendingRequests": 100}},
        "outboundTrafficPolicy": {"mode": "ALLOW_ANY"},
    }
    assert sidecar("default", "mytest", spec).outbound_mode == "ALLOW_ANY"
