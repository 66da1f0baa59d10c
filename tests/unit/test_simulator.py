"""The simulator's mechanisms one by one, over small hand-written Istio objects.

The spec §5 table (test_simulator_table.py) covers the seed scenarios; these tests pin each
Istio rule the decision procedure relies on: request parsing, exportTo, superset label
matching, ignored VirtualServices, first-match routing, wildcard hosts, DestinationRule lookup,
gateway authorization (ALLOW/DENY, HTTP and TCP chains) and refusing what is not modelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, GatewayPort, TranslationSettings
from policies.core.simulator import Request, SimulationInputError, Source, build_mesh, parse_source, parse_url
from policies.core.simulator.hosts import HostTable
from policies.core.simulator.lint import istio_object_findings
from policies.core.yamlio import load_all
from tests.fixtures.seed import seed_policy

FIXTURES = Path(__file__).parent / "simulator_fixtures"
GSVC = "egressgateway.istio-system.svc.cluster.local"


def documents(text: str) -> list[dict[str, Any]]:
    return [document.data for document in load_all(text)]


def scenario(name: str) -> list[dict[str, Any]]:
    return documents((FIXTURES / f"scenario-{name}.yaml").read_text(encoding="utf-8"))


def direct_service(export_to: str = "", hosts: str = "[api.example.com]", extra: str = "") -> list[dict[str, Any]]:
    """A ServiceEntry with no VirtualService: sidecars that see it go straight out."""
    export = f"\n  exportTo: {export_to}" if export_to else ""
    return documents(f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: api, namespace: team-a}}
spec:
  hosts: {hosts}
  resolution: DNS
  ports: [{{number: 80, name: http, protocol: HTTP}}, {{number: 443, name: https, protocol: HTTPS}}]{export}{extra}
""")


def simulate(objects: list[dict[str, Any]], source: str, url: str, method: str = "GET", **kwargs: Any) -> Any:
    namespace, labels = parse_source(source)
    return build_mesh(objects, **kwargs).simulate(Request(namespace, labels, url, method))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://httpbin.org", ("http", "httpbin.org", 80, "/")),
        ("https://httpbin.org", ("https", "httpbin.org", 443, "/")),
        ("http://HTTPBIN.org:8080/anything?x=1", ("http", "httpbin.org", 8080, "/anything?x=1")),
        ("HTTPS://www.httpbin.org./a/b", ("https", "www.httpbin.org", 443, "/a/b")),
        ("http://user:secret@httpbin.org:81?q=1#part", ("http", "httpbin.org", 81, "/?q=1")),
        (" http://httpbin.org#top ", ("http", "httpbin.org", 80, "/")),
        ("http://[::1]/", ("http", "[::1]", 80, "/")),
        ("http://[2001:db8::1]:8080/x", ("http", "[2001:db8::1]", 8080, "/x")),
        ("https://[2001:DB8:0:0::1]?q", ("https", "[2001:db8::1]", 443, "/?q")),
        ("http://bücher.de/", ("http", "xn--bcher-kva.de", 80, "/")),
        ("https://user@BÜCHER.de.:8443/a", ("https", "xn--bcher-kva.de", 8443, "/a")),
        ("http://xn--bcher-kva.de/", ("http", "xn--bcher-kva.de", 80, "/")),
    ],
)
def test_url_is_split_into_scheme_host_port_and_path(url: str, expected: tuple[Any, ...]) -> None:
    # Given / When
    parsed = parse_url(url)

    # Then
    assert (parsed.scheme, parsed.host, parsed.port, parsed.path) == expected


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://httpbin.org", "EGRESS-SIM02"),
        ("httpbin.org/anything", "EGRESS-SIM02"),
        ("http://", "EGRESS-SIM03"),
        ("http://bad_host!", "EGRESS-SIM03"),
        ("http://httpbin.org:99999", "EGRESS-SIM01"),
        ("http://httpbin.org:0", "EGRESS-SIM04"),
        ("http://httpbin.org:", "EGRESS-SIM01"),
        ("http://httpbin.org:http", "EGRESS-SIM01"),
        ("http://[::1/", "EGRESS-SIM03"),
        ("http://[not-an-address]/", "EGRESS-SIM03"),
        ("http://[127.0.0.1]/", "EGRESS-SIM03"),
        ("http://[::1]x/", "EGRESS-SIM03"),
        ("http://[::1]:99999/", "EGRESS-SIM01"),
        ("http://bü_cher.de/", "EGRESS-SIM03"),
        ("http://bücher..de/", "EGRESS-SIM03"),
    ],
)
def test_unreadable_url_is_refused_with_its_code(url: str, code: str) -> None:
    # Given / When
    with pytest.raises(SimulationInputError) as caught:
        parse_url(url)

    # Then
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mytest", ("mytest", {})),
        ("mytest:app=sleep-a", ("mytest", {"app": "sleep-a"})),
        ("mytest:app=sleep-a, version=v1", ("mytest", {"app": "sleep-a", "version": "v1"})),
    ],
)
def test_source_is_namespace_and_labels(text: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_source(text) == expected


@pytest.mark.parametrize(
    ("text", "code"), [("", "EGRESS-SIM06"), ("My_NS", "EGRESS-SIM06"), ("ns:app", "EGRESS-SIM07")]
)
def test_malformed_source_is_refused_with_its_code(text: str, code: str) -> None:
    with pytest.raises(SimulationInputError) as caught:
        parse_source(text)
    assert caught.value.code == code


def test_result_dict_has_exactly_the_contract_keys() -> None:
    # Given / When
    result = simulate([], "default:app=nginx", "http://www.httpbin.org")

    # Then
    assert result.as_dict() == {
        "status": 502,
        "upstream": None,
        "body": None,
        "hops": ["sidecar default/nginx: www.httpbin.org:80 is not in its registry → virtual host block_all "
                 "(direct response 502)"],
        "reason": "The sidecar default/nginx does not know www.httpbin.org:80 under REGISTRY_ONLY, so block_all "
        "answers 502.",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("export_to", "source", "status"),
    [
        ("", "anywhere", 200),  # absent exportTo: every namespace
        ("['*']", "anywhere", 200),
        ("['.']", "team-a", 200),
        ("['.']", "team-b", 502),
        ("[team-b]", "team-b", 200),
        ("[team-b]", "team-a", 502),  # NB: a list without "." hides the object from its own namespace
        ("['~']", "team-a", 502),
    ],
)
def test_export_to_decides_which_namespaces_know_the_host(export_to: str, source: str, status: int) -> None:
    # Given a ServiceEntry exported as in the row
    objects = direct_service(export_to)

    # When a workload of the row's namespace calls the host
    result = simulate(objects, source, "http://api.example.com/x")

    # Then it goes straight out when it knows the host, else block_all answers
    assert result.status == status
    assert result.upstream == ("http://api.example.com:80/x" if status == 200 else None)


@pytest.mark.parametrize(
    ("url", "status", "upstream"),
    [
        ("http://example.org", 502, None),  # port 80: the assumed HTTP listener, block_all
        ("http://www.httpbin.org:8080", "reset", None),  # no listener on 8080 at all
        ("https://www.httpbin.org:8443", "reset", None),
    ],
)
def test_unknown_destination_under_registry_only(url: str, status: int | str, upstream: str | None) -> None:
    result = simulate(scenario("1"), "mytest:app=sleep-a", url)
    assert (result.status, result.upstream) == (status, upstream)


@pytest.mark.parametrize(
    ("url", "upstream"),
    [
        ("http://example.org/a", "http://example.org:80/a"),
        ("https://example.org", "https://example.org:443/"),
        ("http://example.org:8080", "http://example.org:8080/"),
    ],
)
def test_allow_any_passes_unknown_hosts_through(url: str, upstream: str) -> None:
    result = simulate([], "default:app=nginx", url, mesh_mode="ALLOW_ANY")
    assert (result.status, result.upstream) == (200, upstream)
    assert result.hops[0].endswith("→ PassthroughCluster (ALLOW_ANY)")


@pytest.mark.parametrize(
    ("labels", "hop"),
    [
        ("app=sleep-a", "route via-egressgateway"),
        ("app=sleep-a,version=v2,team=x", "route via-egressgateway"),  # workload labels ⊇ sourceLabels
        ("version=v2", "route deny-unselected"),
        ("", "route deny-unselected"),
    ],
)
def test_source_labels_match_when_the_workload_carries_all_of_them(labels: str, hop: str) -> None:
    result = simulate(scenario("1"), f"mytest:{labels}", "http://www.httpbin.org")
    assert result.hops[0].split(": ", 1)[1].startswith(hop)


SELECTIVE_ROUTE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-mesh, namespace: team-a}
spec:
  hosts: [api.example.com]
  http:
  - name: only-team-b
    match: [{sourceNamespace: team-b}]
    directResponse: {status: 418}
"""


def test_virtual_service_whose_routes_all_drop_out_is_ignored() -> None:
    # Given a VirtualService whose only route is for namespace team-b (no catch-all)
    objects = direct_service() + documents(SELECTIVE_ROUTE)

    # When team-a and team-b call the host
    team_a = simulate(objects, "team-a:app=x", "http://api.example.com")
    team_b = simulate(objects, "team-b:app=x", "http://api.example.com")

    # Then team-a falls back to the default route straight to the ServiceEntry; team-b gets the route
    assert (team_a.status, team_a.upstream) == (200, "http://api.example.com:80/")
    assert (
        team_a.hops[0] == "sidecar team-a/x: default route → outbound|80||api.example.com (direct, no egress gateway)"
    )
    assert (team_b.status, team_b.hops[0]) == (418, "sidecar team-b/x: route only-team-b → direct response 418")


ORDERED_ROUTES = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api-mesh, namespace: team-a}
spec:
  hosts: [api.example.com]
  http:
  - name: block-admin
    match: [{uri: {prefix: /admin}}, {method: {exact: DELETE}}]
    directResponse: {status: 403, body: {string: admin is off limits}}
  - name: everything-else
    route: [{destination: {host: api.example.com}}]
"""


@pytest.mark.parametrize(
    ("method", "url", "status", "body", "upstream"),
    [
        ("GET", "http://api.example.com/admin/users", 403, "admin is off limits", None),
        ("DELETE", "http://api.example.com/items", 403, "admin is off limits", None),
        ("GET", "http://api.example.com/items?page=2", 200, None, "http://api.example.com:80/items?page=2"),
    ],
)
def test_first_matching_route_wins(method: str, url: str, status: int, body: str | None, upstream: str | None) -> None:
    result = simulate(direct_service() + documents(ORDERED_ROUTES), "team-a:app=x", url, method)
    assert (result.status, result.body, result.upstream) == (status, body, upstream)


def test_wildcard_service_entry_covers_subdomains() -> None:
    # Given a ServiceEntry for *.example.com (resolution NONE: the app's own DNS answer)
    objects = direct_service(hosts="['*.example.com']", extra="\n  location: MESH_EXTERNAL")
    objects[0]["spec"]["resolution"] = "NONE"

    # When hosts under and outside the wildcard are called
    inside = simulate(objects, "team-a:app=x", "http://a.b.example.com/")
    outside = simulate(objects, "team-a:app=x", "http://example.com/")

    # Then only the covered host is known
    assert (inside.status, inside.upstream) == (200, "http://a.b.example.com:80/")
    assert inside.hops[0] == "sidecar team-a/x: default route → outbound|80||*.example.com (direct, no egress gateway)"
    assert outside.status == 502


def test_host_table_prefers_exact_then_longest_wildcard() -> None:
    # Given
    table: HostTable[str] = HostTable()
    for pattern in ("*", "*.example.com", "*.api.example.com", "api.example.com"):
        table.add(pattern, pattern)

    # When / Then
    assert [table.get(h) for h in ("api.example.com", "v1.api.example.com", "x.example.com", "other.org")] == [
        "api.example.com",
        "*.api.example.com",
        "*.example.com",
        "*",
    ]


ADDRESSED_TCP = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: team-a}
spec:
  hosts: [db.example.com]
  addresses: [240.0.0.10]
  resolution: DNS
  ports: [{number: 5432, name: tcp, protocol: TCP}]
"""


@pytest.mark.parametrize(
    ("url", "status", "upstream"),
    [
        ("https://db.example.com:5432", 200, "https://db.example.com:5432/"),
        ("https://other.example.com:5432", "reset", None),  # NB: with addresses, no wildcard 0.0.0.0 chain
    ],
)
def test_tcp_service_entry_with_addresses_takes_only_its_hosts(
    url: str, status: int | str, upstream: str | None
) -> None:
    result = simulate(documents(ADDRESSED_TCP), "team-a:app=x", url)
    assert (result.status, result.upstream) == (status, upstream)


def test_destination_rule_in_client_namespace_shadows_the_gateway_subsets() -> None:
    # Given scenario 1 plus a DestinationRule for the gateway Service in the client namespace (V26)
    shadow = documents(f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: local, namespace: mytest}}
spec:
  host: {GSVC}
""")

    # When sleep-a calls httpbin
    result = simulate(scenario("1") + shadow, "mytest:app=sleep-a", "http://www.httpbin.org")

    # Then the sidecar finds its own rule first, which has no subset: no cluster, 503
    assert (result.status, result.upstream) == (503, None)
    assert result.hops == [
        f"sidecar mytest/sleep-a: route via-egressgateway → outbound|80|httpbin-service-http|{GSVC} does not exist "
        "(subset httpbin-service-http is not defined)"
    ]


def test_gateway_service_without_the_route_port_fails() -> None:
    # Given a gateway description whose Service lacks port 80
    gateway = GatewayDescription(name="egressgateway", ports=(GatewayPort(name="https", number=443, protocol="HTTPS"),))

    # When sleep-a calls httpbin over HTTP (routed to gateway port 80)
    result = simulate(scenario("1"), "mytest:app=sleep-a", "http://www.httpbin.org", gateway=gateway)

    # Then its sidecar has no such cluster and answers 503
    assert result.status == 503
    assert result.hops[0].endswith("does not exist (the gateway Service has no port 80)")


def authorization(
    action: str, rule: str, namespace: str = "istio-system", selector: str = "istio: egressgateway"
) -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: gw-{action.lower()}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{{selector}}}}}
  action: {action}
  rules: [{rule}]
"""


@pytest.mark.parametrize(
    ("policy", "method", "status", "body"),
    [
        (authorization("ALLOW", "{to: [{operation: {methods: [GET]}}]}"), "GET", 200, None),
        (authorization("ALLOW", "{to: [{operation: {methods: [GET]}}]}"), "POST", 403, "RBAC: access denied"),
        (authorization("ALLOW", "{from: [{source: {namespaces: [other]}}]}"), "GET", 403, "RBAC: access denied"),
        (authorization("ALLOW", "{to: [{operation: {paths: ['/any*']}}]}"), "GET", 200, None),
        (authorization("DENY", "{to: [{operation: {notMethods: [GET]}}]}"), "PUT", 403, "RBAC: access denied"),
        (authorization("DENY", "{to: [{operation: {hosts: ['*.httpbin.org']}}]}"), "GET", 200, None),
        (
            authorization("DENY", "{when: [{key: source.namespace, values: [mytest]}]}"),
            "GET",
            403,
            "RBAC: access denied",
        ),
        # policies that do not select the gateway pods are ignored
        (authorization("DENY", "{}", selector="istio: ingressgateway"), "GET", 200, None),
        (authorization("DENY", "{}", namespace="istio-egress"), "GET", 200, None),
    ],
)
def test_gateway_authorization_on_http_chains(policy: str, method: str, status: int, body: str | None) -> None:
    # Given scenario 1 and one AuthorizationPolicy
    objects = scenario("1") + documents(policy)

    # When sleep-a calls http://httpbin.org/anything
    result = simulate(objects, "mytest:app=sleep-a", "http://httpbin.org/anything", method)

    # Then DENY is checked first, and with an ALLOW policy anything it does not match is denied
    assert (result.status, result.body) == (status, body)


@pytest.mark.parametrize(
    ("policy", "status"),
    [
        (authorization("ALLOW", "{from: [{source: {namespaces: [mytest]}}]}"), 200),
        # ALLOW rules with HTTP-only fields match nothing on TCP chains
        (
            authorization("ALLOW", "{from: [{source: {namespaces: [mytest]}}], to: [{operation: {methods: [GET]}}]}"),
            "reset",
        ),
        # DENY rules lose their HTTP-only fields on TCP chains and widen
        (authorization("DENY", "{to: [{operation: {methods: [POST]}}]}"), "reset"),
        (authorization("DENY", "{to: [{operation: {ports: ['9999']}}]}"), 200),
    ],
)
def test_gateway_authorization_on_tcp_chains(policy: str, status: int | str) -> None:
    result = simulate(scenario("3") + documents(policy), "mytest:app=sleep-a", "https://www.httpbin.org")
    assert result.status == status


@pytest.mark.parametrize(
    ("objects", "code"),
    [
        (["not a mapping"], "EGRESS-SIM10"),
        ([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}], "EGRESS-SIM11"),
        ([{"apiVersion": "networking.istio.io/v1", "kind": "EnvoyFilter", "metadata": {"name": "x"}}], "EGRESS-SIM11"),
        ([{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "spec": {"hosts": "a"}}], "EGRESS-SIM12"),
        (
            [{"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
              "spec": {"hosts": ["a.com"], "http": [{"fault": {"abort": {"httpStatus": 500}}}]}}],
            "EGRESS-SIM13",
        ),
        (
            [{"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "spec": {"action": "CUSTOM", "provider": {"name": "ext"}}}],
            "EGRESS-SIM13",
        ),
    ],
)  # fmt: skip
def test_objects_the_simulator_cannot_read_are_refused_with_their_code(objects: list[Any], code: str) -> None:
    with pytest.raises(SimulationInputError) as caught:
        build_mesh(objects)
    assert caught.value.code == code


def test_unknown_mesh_mode_is_refused() -> None:
    with pytest.raises(SimulationInputError) as caught:
        build_mesh([], mesh_mode="PERMISSIVE")
    assert caught.value.code == "EGRESS-SIM08"


def test_v1beta1_objects_behave_like_v1() -> None:
    # Given scenario 1 written with networking.istio.io/v1beta1
    objects = scenario("1")
    for obj in objects:
        obj["apiVersion"] = "networking.istio.io/v1beta1"

    # When / Then
    result = simulate(objects, "mytest:app=sleep-a", "http://httpbin.org")
    assert (result.status, result.upstream) == (200, "http://httpbin.org:80/")


def test_reachability_matrix_has_one_cell_per_source_and_url() -> None:
    # Given scenario 1 and two sources, two URLs
    from policies.core.simulator import reachability_matrix

    mesh = build_mesh(scenario("1"))
    sources = [Source.parse("mytest:app=sleep-a"), Source.parse("default:app=nginx")]

    # When
    matrix = reachability_matrix(mesh, sources, ["http://httpbin.org/", "https://httpbin.org/"]).as_dict()

    # Then
    assert matrix["sources"] == ["mytest:app=sleep-a", "default:app=nginx"]
    assert [[cell["status"] for cell in row] for row in matrix["cells"]] == [[200, "reset"], [502, "reset"]]
    assert matrix["cells"][0][0]["upstream"] == "http://httpbin.org:80/"
    assert set(matrix["cells"][0][0]) == {"status", "upstream", "reason"}


TAGGED_ENTRIES = f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: api, namespace: istio-egress}}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{{number: 80, name: http, protocol: HTTP}}, {{number: 8080, name: http-alt, protocol: HTTP}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: gw, namespace: istio-system}}
spec:
  host: {GSVC}
  subsets:
  - name: api
    trafficPolicy: {{tls: {{mode: ISTIO_MUTUAL, sni: api.example.com}}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: gw, namespace: istio-egress}}
spec:
  selector: {{istio: egressgateway}}
  servers:
  - port: {{number: 80, name: https-80, protocol: HTTPS}}
    hosts: [api.example.com]
    tls: {{mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: api-mesh, namespace: istio-egress}}
spec:
  hosts: [api.example.com]
  http:
  - match: [{{port: 80}}]
    headers: {{request: {{set: {{x-target: plain}}}}}}
    route: [{{destination: {{host: {GSVC}, subset: api, port: {{number: 80}}}}}}]
  - match: [{{port: 8080}}]
    headers: {{request: {{set: {{x-target: alt}}}}}}
    route: [{{destination: {{host: {GSVC}, subset: api, port: {{number: 80}}}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: api-gw, namespace: istio-egress}}
spec:
  hosts: [api.example.com]
  gateways: [gw]
  http:
  - name: to-alt
    match: [{{headers: {{x-target: {{exact: alt}}}}}}]
    route: [{{destination: {{host: api.example.com, port: {{number: 8080}}}}}}]
  - name: to-plain
    match: [{{withoutHeaders: {{x-target: {{exact: alt}}}}}}]
    route: [{{destination: {{host: api.example.com, port: {{number: 80}}}}}}]
"""


@pytest.mark.parametrize(
    ("url", "route", "port"),
    [("http://api.example.com/", "to-plain", 80), ("http://api.example.com:8080/", "to-alt", 8080)],
)
def test_header_set_by_the_sidecar_route_selects_the_gateway_route(url: str, route: str, port: int) -> None:
    # Given two entries sharing gateway port 80, told apart by a header the sidecar sets
    objects = documents(TAGGED_ENTRIES)

    # When a workload calls each port
    result = simulate(objects, "team-a:app=x", url)

    # Then the gateway route matching that header forwards to the entry's own port
    assert (result.status, result.upstream) == (200, f"http://api.example.com:{port}/")
    gateway_hop = f"gateway istio-system/egressgateway: server https-80 (SNI api.example.com) → route {route}"
    assert result.hops[1] == f"{gateway_hop} → outbound|{port}||api.example.com"


def test_result_renders_reason_and_hops_with_a_translator_and_english_by_default():
    # given
    mesh = build_mesh([], mesh_mode="REGISTRY_ONLY")
    result = mesh.simulate(Request("team-a", {"app": "x"}, "http://api.example.com/"))
    block_all = "The {proxy} does not know {host}:{port} under REGISTRY_ONLY, so block_all answers 502."
    shout = {"sidecar {workload}": "SIDECAR {workload}", block_all: "{proxy} {host} {port}"}
    # when
    translated = result.as_dict(translate=lambda message: shout.get(message, message))
    # then
    assert translated["reason"] == "SIDECAR team-a/x api.example.com 80"
    assert translated["hops"] == [
        "SIDECAR team-a/x: api.example.com:80 is not in its registry → virtual host block_all (direct response 502)"
    ]
    assert result.as_dict()["reason"] == (
        "The sidecar team-a/x does not know api.example.com:80 under REGISTRY_ONLY, so block_all answers 502."
    )


@pytest.mark.parametrize(
    ("url", "blocked_status", "upstream"),
    [
        ("http://[::1]/", 502, "http://[::1]:80/"),
        ("http://[2001:db8::1]:8080/x", "reset", "http://[2001:db8::1]:8080/x"),
        ("http://bücher.de/", 502, "http://xn--bcher-kva.de:80/"),
    ],
)
def test_ipv6_and_unicode_hosts_are_simulated_like_any_unknown_host(
    url: str, blocked_status: int | str, upstream: str
) -> None:
    # given
    registry_only = build_mesh([], mesh_mode="REGISTRY_ONLY")
    allow_any = build_mesh([], mesh_mode="ALLOW_ANY")
    # when
    blocked = registry_only.simulate(Request("team-a", {"app": "x"}, url))
    passed = allow_any.simulate(Request("team-a", {"app": "x"}, url))
    # then
    assert (blocked.status, blocked.upstream) == (blocked_status, None)
    assert (passed.status, passed.upstream) == (200, upstream)


def test_unicode_host_matches_the_service_entry_of_its_punycode_name() -> None:
    # given
    entry = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": "buecher", "namespace": "team-a"},
        "spec": {
            "hosts": ["xn--bcher-kva.de"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
            "resolution": "DNS",
        },
    }
    mesh = build_mesh([entry], mesh_mode="REGISTRY_ONLY")
    # when
    result = mesh.simulate(Request("team-a", {"app": "x"}, "http://bücher.de/a"))
    # then
    assert (result.status, result.upstream) == (200, "http://xn--bcher-kva.de:80/a")


@pytest.mark.parametrize(
    ("mesh_port_default", "status", "upstream"),
    [
        ("asmAuto", 200, "https://www.alibabacloud.com:443/"),
        ("samePort", "reset", None),
    ],
)
def test_gateway_port_allocated_under_asm_auto_is_on_the_gateway_service(
    mesh_port_default: str, status: int | str, upstream: str | None
) -> None:
    # given scenario 4 expanded under asmAuto (TCP target → gateway port 10001) and a gateway declaring 80 and 443
    gateway = GatewayDescription(
        name="egressgateway",
        ports=(
            GatewayPort(name="http", number=80, protocol="HTTP"),
            GatewayPort(name="https", number=443, protocol="HTTPS"),
        ),
    )
    objects = expand_policy(seed_policy("4"), gateway, TranslationSettings(port_default="asmAuto"))
    mesh = build_mesh(objects, gateway=gateway, settings=TranslationSettings(port_default=mesh_port_default))
    # when
    result = mesh.simulate(Request("mytest", {"app": "sleep-a"}, "https://www.alibabacloud.com/"))
    # then only under asmAuto does ASM add 10001 to the gateway Service
    assert (result.status, result.upstream) == (status, upstream)


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("mytest:app=sleep-a", 200),
        ("mytest:app=sleep-b", 200),  # not selected, and still through: the selector is not enforced
        ("default:app=nginx", 502),  # the VirtualService is not exported to default
    ],
)
def test_an_http_match_listing_gateways_ignores_its_source_fields(source: str, status: int) -> None:
    # given hand-written objects whose http match lists gateways: [mesh] beside sourceLabels
    objects = scenario("1-old-shape")

    # when a workload of the listed namespace asks for the host
    result = simulate(objects, source, "http://www.httpbin.org/")

    # then Istio's sourceMatchHTTP keeps the route for every sidecar, selected or not, and says so
    assert result.status == status
    explained = any("the match lists gateways, so Istio ignores its source fields" in hop for hop in result.hops)
    assert explained == (source == "mytest:app=sleep-b")


def test_a_tls_match_listing_gateways_still_requires_its_source_fields() -> None:
    # given the scenario-3 objects, whose tls match lists gateways: [mesh] beside sourceLabels
    objects = scenario("3")

    # when an unselected workload of the listed namespace sends TLS for the host
    result = simulate(objects, "mytest:app=sleep-b", "https://www.httpbin.org/")

    # then matchTLS requires every field: the catch-all route sends it to the -deny subset
    assert result.status == "reset"
    assert not any("ignores its source fields" in hop for hop in result.hops)


def tcp_port_claim(name: str, host: str, created: str | None = None) -> str:
    stamp = f", creationTimestamp: '{created}'" if created else ""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}, namespace: mytest{stamp}}}
spec:
  hosts: [{host}]
  resolution: DNS
  ports: [{{number: 3306, name: tcp, protocol: TCP}}]
---"""


@pytest.mark.parametrize(
    ("zeta_created", "alpha_created", "winner"),
    [
        (None, None, "alpha.example.com"),  # applied together: the host name decides, not document order
        ("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "zeta.example.com"),  # the older one wins
    ],
)
def test_tcp_entries_sharing_a_port_follow_istio_service_order(
    zeta_created: str | None, alpha_created: str | None, winner: str
) -> None:
    # given two TCP ServiceEntries without addresses on one port, zeta first in the document
    objects = documents(
        tcp_port_claim("first", "zeta.example.com", zeta_created)
        + tcp_port_claim("second", "alpha.example.com", alpha_created)
    )

    # when a workload connects to each host on that port
    results = {
        host: simulate(objects, "mytest:app=a", f"https://{host}:3306/")
        for host in ("zeta.example.com", "alpha.example.com")
    }

    # then Istio's single catch-all chain (first by creation time, then host name) takes both,
    # so only the winner's host answers, and the hop states the assumption
    assert {host: r.status for host, r in results.items()} == {
        host: 200 if host == winner else "reset" for host in results
    }
    assert "2 ServiceEntries claim this port" in results[winner].hops[0]


def test_lint_flags_only_http_matches_that_list_gateways_beside_source_fields() -> None:
    # given the old-shape scenario 1 (http) and scenario 3 (tls matches with gateways + sources)
    old_http = [f for obj in scenario("1-old-shape") for f in istio_object_findings(obj)]
    tls = [f for obj in scenario("3") for f in istio_object_findings(obj)]

    # then only the http match is flagged, at its path
    assert [(f.code, f.path) for f in old_http] == [("EGRESS-I01", "spec.http[0].match[0]")]
    assert tls == []
