"""Proposals from observed flows and their replay (issue 13): valid, allowing, and minimal."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from policies.core.discovery.flows import Flow, FlowKey
from policies.core.discovery.propose import propose_policy
from policies.core.discovery.replay import flow_request, replay_flows
from policies.core.discovery.sources import Workload
from policies.core.document import parse_policy_text
from policies.core.expansion import expand_policy
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, GatewayPort, TranslationSettings, seed_gateway
from policies.core.simulator import build_mesh
from policies.core.validation import validate_policy

SEED = Path(__file__).resolve().parents[2] / "policies" / "seed"
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIDE_GATEWAY = GatewayDescription(
    name="egressgateway",
    ports=(
        GatewayPort(name="http-80", number=80, protocol="HTTP"),
        *(GatewayPort(name=f"tls-{n}", number=n, protocol="TLS") for n in range(10001, 10041)),
        GatewayPort(name="https-443", number=443, protocol="HTTPS"),
    ),
)
HOSTS = ("api.example.com", "httpbin.org", "www.google.com", "pay.stripe.com", "s3.amazonaws.com", "10.1.2.3")
LABELS = ({"app": "web", "version": "v1"}, {"app": "web", "version": "v2"}, {"app": "cart"}, {})


def flow(namespace: str, labels: dict[str, str], host: str, port: int, protocol: str, reached: int = 1) -> Flow:
    key = FlowKey(Workload.of(namespace, labels), host, port, protocol)  # type: ignore[arg-type]
    return Flow(
        key, count=1, first_seen="2024-05-01T10:00:00.000Z", last_seen="2024-05-01T10:00:00.000Z", reached=reached
    )


flows_strategy = st.lists(
    st.builds(
        lambda ns, labels, host, target, reached: flow(
            ns, labels, host, target[0], "TCP" if host[0].isdigit() else target[1], reached
        ),
        st.sampled_from(("shop", "pay", "ops")),
        st.sampled_from(LABELS),
        st.sampled_from(HOSTS),
        st.sampled_from(((80, "HTTP"), (443, "TLS"), (8080, "HTTP"), (8443, "TLS"), (80, "HTTP2"))),
        st.integers(0, 1),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda f: f.key,
)
gateways = st.sampled_from((WIDE_GATEWAY, seed_gateway()))
translation = st.sampled_from((TranslationSettings(), TranslationSettings(port_default="asmAuto")))


def errors(proposal_policy, gateway, settings_) -> list[str]:
    return [f.message for f in validate_policy(proposal_policy, gateway, settings_) if f.severity is Severity.ERROR]


@PROPERTY_SETTINGS
@given(flows_strategy, gateways, translation)
def test_every_proposal_validates_and_allows_every_flow_it_covers(flows, gateway, settings_) -> None:
    # When
    proposal = propose_policy(flows, gateway, settings=settings_)

    # Then: valid, every flow accounted for once, and each covered flow reaches its destination
    assert proposal.policy is not None or proposal.covered == []
    assert proposal.policy is None or errors(proposal.policy, gateway, settings_) == []
    skipped = [item.flow for item in proposal.skipped]
    assert sorted(f.key for f in [*proposal.covered, *skipped]) == sorted(f.key for f in flows)
    report = replay_flows(proposal.covered, proposal.policy, gateway, settings_)
    assert [r.flow.key for r in report.results if not r.allowed] == []


@PROPERTY_SETTINGS
@given(flows_strategy, flows_strategy, gateways)
def test_extending_a_draft_keeps_what_it_allowed_and_allows_the_new_flows(first, second, gateway) -> None:
    # Given: a draft proposed from the first flows
    base = propose_policy(first, gateway).policy
    assume(base is not None)
    allowed_before = [r.flow for r in replay_flows(first, base, gateway).results if r.allowed]

    # When
    proposal = propose_policy(second, gateway, base=base)

    # Then
    assert errors(proposal.policy, gateway, None) == []
    replayed = replay_flows([*allowed_before, *proposal.covered, *proposal.already_allowed], proposal.policy, gateway)
    assert [r.flow.key for r in replayed.results if not r.allowed] == []


@PROPERTY_SETTINGS
@given(flows_strategy)
def test_replay_agrees_with_the_simulator_request_by_request(flows) -> None:
    # Given: a candidate allowing only some of the flows
    gateway = WIDE_GATEWAY
    candidate = propose_policy(flows[: len(flows) // 2 + 1], gateway).policy
    assume(candidate is not None)
    mesh = build_mesh(
        expand_policy(candidate, gateway, TranslationSettings()), gateway=gateway, settings=TranslationSettings()
    )

    # When
    report = replay_flows(flows, candidate, gateway)

    # Then
    for result in report.results:
        expected = mesh.simulate(flow_request(result.flow))
        assert (result.status, result.upstream) == (expected.status, expected.upstream)
        assert result.verdict == (
            ("kept" if result.allowed else "broken")
            if result.flow.allowed_today
            else ("newly_allowed" if result.allowed else "still_blocked")
        )


def test_sources_sharing_labels_become_one_item_and_destinations_with_one_audience_one_rule() -> None:
    # Given: two versions of web call two hosts; cart calls a third
    flows = [
        flow("shop", {"app": "web", "version": "v1"}, "api.example.com", 443, "TLS"),
        flow("shop", {"app": "web", "version": "v2"}, "api.example.com", 443, "TLS"),
        flow("shop", {"app": "web", "version": "v1"}, "httpbin.org", 8080, "HTTP"),
        flow("shop", {"app": "web", "version": "v2"}, "httpbin.org", 8080, "HTTP"),
        flow("shop", {"app": "cart"}, "pay.stripe.com", 443, "TLS"),
    ]

    # When
    proposal = propose_policy(flows, WIDE_GATEWAY)

    # Then
    rules = proposal.policy.spec.egressRules
    assert [([(f.namespace, f.workloadSelector) for f in r.from_], [t.name for t in r.to]) for r in rules] == [
        ([("shop", {"app": "web"})], ["api-example-com-443", "httpbin-org-8080"]),
        ([("shop", {"app": "cart"})], ["pay-stripe-com-443"]),
    ]
    assert [n.code for n in proposal.notes] == ["EGRESS-DISC11"]


def test_plain_http_to_a_host_also_reached_over_tls_gets_an_https_upgrade_with_its_reason() -> None:
    flows = [
        flow("shop", {"app": "web"}, "httpbin.org", 80, "HTTP"),
        flow("shop", {"app": "web"}, "httpbin.org", 443, "TLS"),
    ]

    proposal = propose_policy(flows, WIDE_GATEWAY)

    [entry] = [to for _r, _t, _rule, to in proposal.policy.iter_targets() if to.port.number == 80]
    assert (entry.httpsUpgrade.enabled, entry.httpsUpgrade.port) == (True, 443)
    assert [n.code for n in proposal.notes] == ["EGRESS-DISC10"]
    assert "also reached via TLS on 443" in proposal.notes[0].render()


def test_inexpressible_flows_are_skipped_with_a_code() -> None:
    flows = [
        flow("shop", {"app": "db"}, "10.1.2.3", 5432, "TCP"),
        flow("shop", {"app": "web"}, "reviews.shop.svc.cluster.local", 80, "HTTP"),
        flow("shop", {"app": "web"}, "a.example.com", 15001, "HTTP"),
        flow("shop", {"app": "web"}, "b.example.com", 443, "TLS"),
        flow("shop", {"app": "web"}, "c.example.com", 443, "TLS"),
        flow("shop", {"app": "web"}, "d.example.com", 443, "TLS"),
    ]

    proposal = propose_policy(flows, seed_gateway())

    assert [(s.flow.key.host, s.why.code) for s in proposal.skipped] == [
        ("10.1.2.3", "EGRESS-DISC01"),
        ("reviews.shop.svc.cluster.local", "EGRESS-DISC02"),
        ("a.example.com", "EGRESS-DISC03"),
        ("d.example.com", "EGRESS-DISC06"),
    ]
    assert [f.key.host for f in proposal.covered] == ["b.example.com", "c.example.com"]


def test_a_new_source_for_an_entry_of_a_shared_rule_moves_that_entry_into_its_own_rule() -> None:
    # Given: one rule letting shop/web reach two hosts
    base = propose_policy(
        [
            flow("shop", {"app": "web"}, "api.example.com", 443, "TLS"),
            flow("shop", {"app": "web"}, "httpbin.org", 8080, "HTTP"),
        ],
        WIDE_GATEWAY,
    ).policy

    # When: ops/probe calls one of them
    proposal = propose_policy([flow("ops", {"app": "probe"}, "httpbin.org", 8080, "HTTP")], WIDE_GATEWAY, base=base)

    # Then: ops/probe reaches httpbin.org only
    rules = proposal.policy.spec.egressRules
    assert [([f.namespace for f in r.from_], [t.name for t in r.to]) for r in rules] == [
        (["shop"], ["api-example-com-443"]),
        (["shop", "ops"], ["httpbin-org-8080"]),
    ]
    probe_to_api = replay_flows(
        [flow("ops", {"app": "probe"}, "api.example.com", 443, "TLS")], proposal.policy, WIDE_GATEWAY
    )
    assert probe_to_api.counts()["broken"] == 1
    assert [n.code for n in proposal.notes] == ["EGRESS-DISC12", "EGRESS-DISC13"]


def test_flows_the_draft_already_allows_are_counted_not_added_again() -> None:
    flows = [flow("shop", {"app": "web"}, "api.example.com", 443, "TLS")]
    base = propose_policy(flows, WIDE_GATEWAY).policy

    proposal = propose_policy(flows, WIDE_GATEWAY, base=base)

    assert (proposal.policy, len(proposal.already_allowed), proposal.covered) == (base, 1, [])


SEED_BASES = [
    parse_policy_text((SEED / f"scenario-{name}.yaml").read_bytes()).policy for name in ("1", "2", "2a", "3", "4")
]
SEED_HOST_FLOWS = st.lists(
    st.builds(
        lambda ns, labels, host, target: flow(ns, labels, host, *target),
        st.sampled_from(("mytest", "default", "shop")),
        st.sampled_from(({"app": "sleep-a"}, {"app": "sleep-b"}, {"app": "web"})),
        st.sampled_from(("httpbin.org", "www.httpbin.org", "edition.cnn.com", "www.aliyun.com", "api.example.com")),
        st.sampled_from(((80, "HTTP"), (443, "TLS"), (8080, "HTTP"))),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda f: f.key,
)


@PROPERTY_SETTINGS
@given(st.sampled_from(SEED_BASES), SEED_HOST_FLOWS)
def test_extending_the_seed_policies_keeps_them_valid_and_allows_the_new_flows(base, flows) -> None:
    # Given: a seed scenario as the draft (multi-host entries, httpsUpgrade, TLS and TCP entries)
    gateway = seed_gateway()
    assert base is not None

    # When
    proposal = propose_policy(flows, gateway, base=base)

    # Then
    assert proposal.policy is not None
    assert errors(proposal.policy, gateway, None) == []
    replayed = replay_flows([*proposal.covered, *proposal.already_allowed], proposal.policy, gateway)
    assert [r.flow.key for r in replayed.results if not r.allowed] == []
