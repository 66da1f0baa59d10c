"""Access-log parsing and flow aggregation (issue 13): lines written from Istio's default formats."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.core.discovery import flows, jsonformat
from policies.core.discovery.accesslog import (
    JSON_FIELDS,
    MAX_LINE_BYTES,
    AccessLogEntry,
    RefusedLine,
    parse_line,
    read_access_log,
)
from policies.core.discovery.flows import FlowAggregator
from policies.core.discovery.sources import PodIndex, PodListError, SourceResolver, Workload
from tests.fixtures.accesslogs import GATEWAY_CLUSTER, block_all, http, json_line, tcp, text_line, tls

SAMPLE_LINES = [
    render(values).encode()
    for render in (text_line, json_line)
    for values in (http("httpbin.org", "54.1.2.3"), tls("a.example.com", "1.2.3.4"), tcp("10.0.0.1", 5432))
]
RENDERERS = pytest.mark.parametrize("render", [text_line, json_line], ids=["text", "json"])
SHOP = Workload.of("shop", {"app": "web"})
PODS = {
    "kind": "List",
    "items": [
        {
            "metadata": {
                "name": "web-7d9c-abcde",
                "namespace": "shop",
                "labels": {"app": "web", "pod-template-hash": "7d9c"},
            }
        },
        {"metadata": {"name": "batch-0", "namespace": "jobs", "labels": {"app": "batch"}}},
        {
            "metadata": {
                "name": "egw-1",
                "namespace": "istio-system",
                "labels": {"app": "egw", "istio": "egressgateway"},
            }
        },
        {"metadata": {"name": "twin", "namespace": "a", "labels": {"app": "one"}}},
        {"metadata": {"name": "twin", "namespace": "b", "labels": {"app": "two"}}},
    ],
}


def aggregate(lines: list[str], resolver: SourceResolver | None = None) -> tuple[FlowAggregator, list[RefusedLine]]:
    aggregator = FlowAggregator(resolver or SourceResolver(PodIndex.from_document(PODS), SHOP))
    refusals = list(aggregator.feed(io.BytesIO("\n".join(lines).encode())))
    return aggregator, refusals


@RENDERERS
def test_an_http_request_passed_through_is_read_field_by_field(render) -> None:
    # Given
    line = render(http("httpbin.org", "54.1.2.3"))

    # When
    entry = parse_line(line, 7)

    # Then
    assert isinstance(entry, AccessLogEntry)
    assert (entry.line, entry.method, entry.path, entry.protocol, entry.response_code) == (
        7,
        "GET",
        "/get",
        "HTTP/1.1",
        200,
    )
    assert (entry.authority, entry.upstream_cluster, entry.downstream_local_address) == (
        "httpbin.org",
        "PassthroughCluster",
        "54.1.2.3:80",
    )
    assert (entry.response_flags, entry.requested_server_name, entry.route_name) == ((), None, "allow_any")


@RENDERERS
def test_a_tls_connection_to_the_black_hole_keeps_its_sni_and_flags(render) -> None:
    # When
    entry = parse_line(render(tls("www.google.com", "142.250.1.1", cluster="BlackHoleCluster", flags="UH")), 1)

    # Then
    assert isinstance(entry, AccessLogEntry)
    assert (entry.method, entry.protocol, entry.response_code, entry.response_flags) == (None, None, 0, ("UH",))
    assert (entry.requested_server_name, entry.upstream_cluster) == ("www.google.com", "BlackHoleCluster")


@RENDERERS
def test_kubectl_prefixes_name_the_pod_and_container(render) -> None:
    entry = parse_line(render(http("httpbin.org", "54.1.2.3"), pod="web-7d9c-abcde"), 1)

    assert isinstance(entry, AccessLogEntry)
    assert (entry.pod, entry.container, entry.format) == (
        "web-7d9c-abcde",
        "istio-proxy",
        render.__name__.split("_")[0],
    )


def test_a_byte_order_mark_and_windows_line_ends_are_read() -> None:
    stream = (
        "\ufeff".encode()
        + f"{text_line(http('a.example.com', '1.1.1.1'))}\r\n{json_line(tls('b.example.com', '2.2.2.2'))}\r\n".encode()
    )

    items = list(read_access_log(io.BytesIO(stream)))

    assert [(type(item).__name__, item.line) for item in items] == [("AccessLogEntry", 1), ("AccessLogEntry", 2)]


def test_kubectl_timestamps_after_the_prefix_are_skipped() -> None:
    line = "[pod/web-7d9c-abcde/istio-proxy] 2024-05-01T10:00:00.123456789Z " + json_line(
        http("httpbin.org", "54.1.2.3")
    )

    entry = parse_line(line, 1)

    assert isinstance(entry, AccessLogEntry)
    assert (entry.pod, entry.authority) == ("web-7d9c-abcde", "httpbin.org")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("hello world", "EGRESS-LOG03"),
        ('[2024-05-01T10:00:00.000Z] "GET /get HTTP/1.1" 200 - via_upstream', "EGRESS-LOG03"),
        ('{"start_time": "2024-05-01T10:00:00.000Z", "method": "GET"', "EGRESS-LOG04"),
        ('{"start_time": "2024-05-01T10:00:00.000Z", "method": "GET"}', "EGRESS-LOG03"),
        ("2024-05-01T10:00:00.000000Z\tinfo\tads\tADS: new connection for node:sidecar~10.244.0.12", "EGRESS-LOG06"),
        ('[GET] /get 200 "httpbin.org"', "EGRESS-LOG03"),
        ("[2024-05-01 10:00:00.000][15][warning][config] gRPC config stream closed", "EGRESS-LOG06"),
    ],
    ids=["prose", "truncated-text", "truncated-json", "custom-json", "pilot-agent", "custom-text", "envoy"],
)
def test_other_lines_are_refused_with_a_stable_code(line: str, code: str) -> None:
    refusal = parse_line(line, 12)

    assert isinstance(refusal, RefusedLine)
    assert (refusal.line, refusal.code) == (12, code)
    assert refusal.reason


def test_a_json_field_of_the_wrong_type_is_named() -> None:
    line = json_line(http("httpbin.org", "54.1.2.3")).replace('"response_code":200', '"response_code":"ok"')

    refusal = parse_line(line, 3)

    assert isinstance(refusal, RefusedLine)
    assert (refusal.code, refusal.reason) == (
        "EGRESS-LOG05",
        "Field 'response_code' has the value \"ok\", which Istio's access log never writes there.",
    )


@RENDERERS
def test_a_start_time_no_calendar_has_is_refused(render) -> None:
    refusal = parse_line(render(http("httpbin.org", "54.1.2.3", START_TIME="2024-13-45T10:00:00.000Z")), 4)

    assert isinstance(refusal, RefusedLine)
    assert (refusal.line, refusal.code, refusal.params[0]) == (4, "EGRESS-LOG05", ("field", "start_time"))


def test_binary_junk_overlong_and_blank_lines_in_a_stream_are_numbered() -> None:
    # Given: a good line, binary junk, a blank line, an overlong line, a good JSON line
    good = text_line(http("httpbin.org", "54.1.2.3")).encode()
    stream = b"\n".join(
        [
            good,
            b"\x00\xff\xfe\x80junk",
            b"",
            b"x" * (MAX_LINE_BYTES + 10),
            json_line(tls("a.example.com", "1.2.3.4")).encode(),
        ]
    )

    # When
    items = list(read_access_log(io.BytesIO(stream)))

    # Then
    assert [(item.line, getattr(item, "code", "entry")) for item in items] == [
        (1, "entry"),
        (2, "EGRESS-LOG01"),
        (4, "EGRESS-LOG02"),
        (5, "entry"),
    ]


def test_mixed_encodings_make_one_flow_with_outcomes_and_times() -> None:
    # Given: the same workload calling httpbin.org twice (TEXT then JSON), once refused by block_all
    later = http("httpbin.org", "54.1.2.3", START_TIME="2024-05-01T11:00:00.000Z")
    lines = [
        text_line(http("httpbin.org", "54.1.2.3"), pod="web-7d9c-abcde"),
        json_line(later, pod="web-7d9c-abcde"),
        text_line(block_all("httpbin.org", "54.1.2.3"), pod="web-7d9c-abcde"),
    ]

    # When
    aggregator, refusals = aggregate(lines)

    # Then
    [flow] = aggregator.flows()
    assert refusals == []
    assert flow.as_dict() == {
        "source": {"namespace": "shop", "labels": {"app": "web"}, "label": "shop/app=web"},
        "host": "httpbin.org",
        "port": 80,
        "protocol": "HTTP",
        "count": 3,
        "firstSeen": "2024-05-01T10:00:00.000Z",
        "lastSeen": "2024-05-01T11:00:00.000Z",
        "outcomes": {"200": 2, "502": 1},
        "clusters": {"PassthroughCluster": 2, "-": 1},
        "clusterKinds": {"passthrough": 2, "block_all": 1},
        "reached": 2,
        "allowedToday": True,
    }
    assert aggregator.summary.formats == {"text": 2, "json": 1}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (http("httpbin.org:8080", "54.1.2.3"), ("httpbin.org", 8080, "HTTP", "200", True, "passthrough")),
        (
            http("edition.cnn.com", "10.96.0.50", cluster=GATEWAY_CLUSTER),
            ("edition.cnn.com", 80, "HTTP", "200", True, "egress_gateway"),
        ),
        (
            http("edition.cnn.com", "10.96.0.50", code=403, cluster=GATEWAY_CLUSTER),
            ("edition.cnn.com", 80, "HTTP", "403", False, "egress_gateway"),
        ),
        (
            http(
                "api.example.com",
                "5.6.7.8",
                code=503,
                RESPONSE_FLAGS="UF,URX",
                RESPONSE_CODE_DETAILS="upstream_reset_before_response_started{connection_failure}",
            ),
            ("api.example.com", 80, "HTTP", "503", False, "passthrough"),
        ),
        (block_all("example.com", "93.184.216.34"), ("example.com", 80, "HTTP", "502", False, "block_all")),
        (tls("www.google.com", "142.250.1.1"), ("www.google.com", 443, "TLS", "connected", True, "passthrough")),
        (
            tls("www.google.com", "142.250.1.1", cluster="BlackHoleCluster", flags="UH"),
            ("www.google.com", 443, "TLS", "reset", False, "blackhole"),
        ),
        (
            tls(
                "api.stripe.com",
                "10.96.0.50",
                cluster="outbound|443||istio-egressgateway.istio-system.svc.cluster.local",
            ),
            ("api.stripe.com", 443, "TLS", "connected", True, "egress_gateway"),
        ),
        (
            tls("api.stripe.com", "3.3.3.3", cluster="outbound|443||api.stripe.com"),
            ("api.stripe.com", 443, "TLS", "connected", True, "service_entry"),
        ),
        (tcp("10.1.2.3", 5432), ("10.1.2.3", 5432, "TCP", "connected", True, "passthrough")),
        (
            tcp("10.1.2.3", 5432, cluster="BlackHoleCluster") | {"RESPONSE_FLAGS": "UH"},
            ("10.1.2.3", 5432, "TCP", "reset", False, "blackhole"),
        ),
    ],
    ids=[
        "http-port",
        "gateway",
        "gateway-rbac",
        "upstream-failure",
        "block-all",
        "tls",
        "tls-blackhole",
        "tls-gateway",
        "service-entry",
        "tcp",
        "tcp-blackhole",
    ],
)
def test_each_line_is_read_as_a_destination_an_outcome_and_a_cluster(values, expected) -> None:
    for render in (text_line, json_line):
        aggregator, refusals = aggregate([render(values)])

        [flow] = aggregator.flows()
        key = flow.key
        assert (key.host, key.port, key.protocol, *flow.outcomes, flow.allowed_today, *flow.cluster_kinds) == expected
        assert refusals == []


def test_mesh_internal_and_inbound_traffic_is_set_aside_and_counted() -> None:
    lines = [
        text_line(http("reviews:9080", "10.96.1.1", cluster="outbound|9080||reviews.shop.svc.cluster.local")),
        json_line(http("web:8080", "10.244.0.12", cluster="inbound|8080||")),
    ]

    aggregator, refusals = aggregate(lines)

    assert (aggregator.flows(), refusals, aggregator.summary.mesh_internal) == ([], [], 2)


def test_lines_of_a_gateway_proxy_are_set_aside_and_named_gateways_are_recognised() -> None:
    # Given: the gateway's own log line, and a sidecar sending to a gateway named "egw"
    own = text_line(tls("api.stripe.com", "3.3.3.3", cluster="outbound|443||api.stripe.com"), pod="egw-1")
    to_egw = text_line(http("api.example.com", "10.96.0.9", cluster="outbound|80||egw.istio-system.svc.cluster.local"))
    aggregator = FlowAggregator(
        SourceResolver(PodIndex.from_document(PODS), SHOP), gateway_hosts=["egw.istio-system.svc.cluster.local"]
    )

    # When
    refusals = list(aggregator.feed(io.BytesIO(f"{own}\n{to_egw}".encode())))

    # Then
    [flow] = aggregator.flows()
    assert (refusals, aggregator.summary.gateway_own, flow.cluster_kinds) == ([], 1, {"egress_gateway": 1})


def test_pods_map_to_workloads_and_unknown_or_ambiguous_pods_are_refused() -> None:
    # Given: no fallback namespace, so "twin" (in a and b) cannot be settled
    resolver = SourceResolver(PodIndex.from_document(PODS))
    lines = [
        text_line(http("a.example.com", "1.1.1.1"), pod="batch-0"),
        text_line(http("a.example.com", "1.1.1.1"), pod="gone-pod"),
        text_line(http("a.example.com", "1.1.1.1"), pod="twin"),
        text_line(http("a.example.com", "1.1.1.1")),
    ]

    # When
    aggregator, refusals = aggregate(lines, resolver)

    # Then
    assert [flow.key.source for flow in aggregator.flows()] == [Workload("jobs", (("app", "batch"),))]
    assert [(r.line, r.code) for r in refusals] == [(2, "EGRESS-LOG08"), (3, "EGRESS-LOG10"), (4, "EGRESS-LOG09")]
    assert aggregator.summary.refused == {"EGRESS-LOG08": 1, "EGRESS-LOG10": 1, "EGRESS-LOG09": 1}


def test_volatile_labels_are_dropped_from_workloads() -> None:
    pods = PodIndex.from_document(PODS)

    assert pods.pods["web-7d9c-abcde"] == [Workload("shop", (("app", "web"),))]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], ""),
        ({"items": [{"metadata": {"namespace": "a"}}]}, "items[0].metadata.name"),
        ({"items": [{"metadata": {"name": "p"}}]}, "items[0].metadata.namespace"),
        ({"items": [{"metadata": {"name": "p", "namespace": "a", "labels": {"x": 1}}}]}, "items[0].metadata.labels"),
    ],
)
def test_a_bad_pod_list_names_the_field(document, path: str) -> None:
    with pytest.raises(PodListError) as caught:
        PodIndex.from_document(document)

    assert (caught.value.code, caught.value.path) == ("EGRESS-LOG20", path)


def test_flows_beyond_the_limit_are_refused_not_dropped() -> None:
    aggregator = FlowAggregator(SourceResolver(fallback=SHOP), max_flows=2)
    lines = [text_line(http(f"h{i}.example.com", "1.1.1.1")) for i in range(3)] + [
        text_line(http("h0.example.com", "1.1.1.1"))
    ]

    refusals = list(aggregator.feed(io.BytesIO("\n".join(lines).encode())))

    assert [(r.line, r.code) for r in refusals] == [(3, "EGRESS-LOG11")]
    assert ([f.count for f in aggregator.flows()], aggregator.summary.over_limit) == ([2, 1], 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=300), st.sampled_from([*SAMPLE_LINES, "\ufeff".encode()])), max_size=30))
def test_any_bytes_give_one_item_per_non_blank_line_and_never_raise(chunks: list[bytes]) -> None:
    # Given: arbitrary bytes and real lines, one per input line (newlines inside chunks split them further)
    stream = b"\n".join(chunks)
    without_mark = stream.removeprefix("\ufeff".encode())  # NB: a byte order mark opening the log is dropped.
    expected = [
        n for n, raw in enumerate(without_mark.split(b"\n"), 1) if raw.strip(b"\r\n").decode("utf-8", "replace").strip()
    ]

    # When
    items = list(read_access_log(io.BytesIO(stream)))

    # Then
    assert [item.line for item in items] == expected
    assert all(isinstance(item, RefusedLine) or item.start_time for item in items)


JSON_SCALARS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=12),
    st.sampled_from(
        ["-", "", "2024-05-01T10:00:00.000Z", "HTTP/1.1", "UF,URX", "outbound|443||a.example.com", "1.2.3.4:443"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.permutations(JSON_FIELDS), st.data(), st.booleans())
def test_a_learned_json_layout_reads_every_line_as_json_loads_does(order, data, compact: bool) -> None:
    # Given: a line of the default field set in some key order (the first such line teaches its layout)
    values = {name: data.draw(JSON_SCALARS, label=name) for name in order}
    values["start_time"] = data.draw(st.sampled_from(["2024-05-01T10:00:00.000Z", "2024-13-45T10:00:00.000Z", 7]))
    line = json.dumps(values, separators=(",", ":") if compact else None, ensure_ascii=data.draw(st.booleans()))
    jsonformat._layouts.clear()  # NB: a cache; every example learns its own order (at most 8 are kept).
    parse_line(line, 1)

    # When / Then: the layout (when it takes the line) answers exactly what json.loads does
    assert parse_line(line, 2) == jsonformat._json_entry(line, 2, None, None)


def test_the_first_default_json_line_teaches_a_layout_that_reads_the_next_ones(monkeypatch) -> None:
    # Given: no layout learned yet
    monkeypatch.setattr(jsonformat, "_layouts", [])
    first, second = (
        json.dumps(json.loads(json_line(v)), separators=(",", ":"))
        for v in (http("a.example.com", "1.1.1.1"), tls("b.example.com", "2.2.2.2"))
    )

    # When
    parse_line(first, 1)
    entry = parse_line(second, 2)

    # Then: Envoy's compact line matches the learned pattern and reads as json.loads reads it
    [layout] = jsonformat._layouts
    assert layout.pattern.match(second) is not None
    assert entry == jsonformat._json_entry(second, 2, None, None)
    assert (entry.requested_server_name, entry.response_code, entry.method) == ("b.example.com", 0, None)


def _general_way(aggregator: FlowAggregator, data: bytes) -> list[RefusedLine]:
    """Every line read into an entry and added one by one: what ``feed`` must agree with."""
    refusals = []
    for item in read_access_log(io.BytesIO(data)):
        aggregator.summary.lines += 1
        problem = item if isinstance(item, RefusedLine) else aggregator.add(item)
        if problem is not None:
            aggregator.summary.refused[problem.code] = aggregator.summary.refused.get(problem.code, 0) + 1
            refusals.append(problem)
    return refusals


MESH_CLUSTER = "outbound|9080||reviews.default.svc.cluster.local"
SCENARIOS = [
    http("httpbin.org", "54.1.2.3"),
    http("httpbin.org", "54.1.2.3", code=502, cluster="BlackHoleCluster", RESPONSE_FLAGS="UH"),
    http("api.example.com:8080", "54.1.2.4", cluster=GATEWAY_CLUSTER),
    http("reviews:9080", "10.96.0.9", cluster=MESH_CLUSTER),
    block_all("blocked.example.com", "54.1.2.5"),
    tls("a.example.com", "1.2.3.4"),
    tls("a.example.com", "1.2.3.4", cluster="BlackHoleCluster", flags="UH"),
    tcp("10.0.0.1", 5432),
    {**tcp("10.0.0.1", 5432), "DOWNSTREAM_LOCAL_ADDRESS": None},  # NB: no destination at all.
]
JUNK_LINES = ["", "  ", "\ufeff", "not a log line", '{"start_time": 1']
LOG_LINES = st.builds(
    lambda render, values, pod, start, varied: render(
        {**values, "START_TIME": start, "REQ(X-REQUEST-ID)": varied, "DURATION": len(varied)}, pod
    ),
    st.sampled_from([text_line, json_line]),
    st.sampled_from(SCENARIOS),
    st.sampled_from([None, "web-7d9c-abcde", "batch-0", "egw-1", "twin", "gone-0"]),
    st.sampled_from(
        ["2024-05-01T10:00:00.000Z", "2024-05-01T09:59:59.5Z", "2024-05-02T00:00:00Z", "2024-13-45T10:00:00.000Z"]
    ),
    st.text("abc-1", max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(LOG_LINES, st.sampled_from(JUNK_LINES)), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(1, 3),
    st.sampled_from([2, 3, flows.TALLY_LIMIT]),
)
def test_feeding_a_log_agrees_with_reading_every_line_the_general_way(
    lines: list[str], newline: str, limit: int, tally_limit: int
) -> None:
    # Given: one log of repeated signatures, bad start times, unknown pods, set-asides and junk; a small
    # flow limit, and at times so few remembered signatures that the fast path folds in the middle
    data = newline.join(lines).encode()
    resolver = SourceResolver(PodIndex.from_document(PODS))
    fast, general = FlowAggregator(resolver, max_flows=limit), FlowAggregator(resolver, max_flows=limit)

    # When: one feeds it (the fast path for repeated signatures), the other reads it line by line
    jsonformat._layouts.clear()  # NB: the JSON layout is learned in the middle of the log, as in life.
    default_limit, flows.TALLY_LIMIT = flows.TALLY_LIMIT, tally_limit
    try:
        fed = list(fast.feed(io.BytesIO(data)))
    finally:
        flows.TALLY_LIMIT = default_limit
    jsonformat._layouts.clear()
    read = _general_way(general, data)

    # Then: the same refusals, in order, the same flows and the same summary
    assert fed == read
    assert [flow.as_dict() for flow in fast.flows()] == [flow.as_dict() for flow in general.flows()]
    assert fast.summary == general.summary
