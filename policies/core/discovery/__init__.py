"""Discover and replay: observed egress traffic (Envoy access logs) → flows → a policy, and what a
candidate policy would break (issue 13). Pure core: plain data in, plain data out.

Modules, in the order data flows through them:

- ``accesslog``: ``read_access_log(binary_stream)`` yields an ``AccessLogEntry`` per line in
  Istio's default TEXT or JSON format and a ``RefusedLine`` (line, stable ``EGRESS-LOG..`` code,
  reason) for every other line; ``parse_line(text, number)`` for one line. (``entry`` holds
  those two types and the codes, ``jsonformat`` the JSON encoding; import them from here.)
- ``sources``: ``PodIndex.from_document(kubectl_get_pods_json)`` / ``PodIndex.from_pods(...)``,
  ``Workload.of(namespace, labels)`` and ``SourceResolver(pods, fallback)``: pod → workload.
- ``flows``: ``FlowAggregator(resolver).feed(stream)`` (yields refusals) then ``.flows()`` →
  ``Flow`` (key: source, host, port, protocol; count, first/last seen, outcomes, clusters) and
  ``.summary`` (``IngestSummary``).
- ``propose``: ``propose_policy(flows, gateway, base=None, settings=None)`` → ``Proposal``
  (a valid ``EgressPolicy`` allowing the flows with the fewest rules, notes, skipped flows;
  the types live in ``proposal``, the folding of sources, names and gateway ports in ``grouping``).
- ``replay``: ``replay_flows(flows, candidate_policy, gateway, settings)`` (or ``replay_on_mesh``
  for a mesh built otherwise) → ``ReplayReport`` (each flow's simulated outcome under a candidate:
  broken, newly allowed, kept, still blocked).

Every ``as_dict()`` is the JSON contract shared by the CLI (``egress discover``/``egress replay``)
and the API.
"""
