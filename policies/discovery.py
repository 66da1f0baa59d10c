"""Discover and replay in the console and API (issue 13): ingest access logs, list flows, propose, replay.

The pure core (``policies.core.discovery``) reads the logs into flows, proposes a policy and
replays flows through the simulator; this module stores the flows and wires the core to the
gateway's draft, its revisions and its reviews:

- ``ingest`` streams each log through a ``FlowAggregator`` (one line held at a time), then stores
  the upload record and merges its flows into the stored aggregates in **one transaction**:
  refused lines are reported (line number, code, reason) and the rest is stored, but an upload
  in which no line is an access-log line, or any failure while storing (a database error, a
  concurrent upload of the same new flow), stores nothing. Raw log text is never kept.
- ``propose`` turns selected stored flows into a new draft of the gateway's policy, shown as a
  diff against the current draft; ``save`` writes it through ``services.save_draft`` (optimistic
  locking) or ``services.create_policy`` when the gateway has no policy yet. Review follows as
  for any change.
- ``replay`` runs the gateway's stored flows through the simulator under the current draft, a
  revision, or a review's revision; ``replay_for_review`` is what the review page shows.
- ``prune`` drops flows and uploads no upload touched for ``EGRESS_OBSERVATION_RETENTION_DAYS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from policies import services
from policies.audit import append_entry
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ResourceType
from policies.cluster.records import connect_cluster
from policies.clusters import CHECK_RETRY
from policies.core.discovery.accesslog import RefusedLine
from policies.core.discovery.flows import MAX_CLUSTERS_PER_FLOW, Flow, FlowAggregator, FlowKey, FlowProtocol
from policies.core.discovery.propose import Proposal, ProposalError, propose_policy
from policies.core.discovery.replay import ReplayReport, replay_flows
from policies.core.discovery.sources import PodIndex, PodListError, SourceResolver, Workload
from policies.core.document import dump_policy, parse_policy_data, policy_to_data
from policies.core.expansion import ExpansionError
from policies.core.line_diff import line_diff
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.policy_changes import policy_changes
from policies.core.simulator import SimulationInputError, parse_source
from policies.models import (
    Cluster,
    EgressGateway,
    EgressPolicy,
    ObservationUpload,
    ObservedFlow,
    PolicyDraft,
    PolicyRevision,
    Review,
)

UPLOAD_PERMISSION = "policies.add_observedflow"
DELETE_PERMISSION = "policies.delete_observedflow"
MAX_REFUSED_KEPT = 100  # NB: every refusal is counted in the summary; only the first ones are listed.
MAX_SELECTED_FLOWS = 5_000
REFUSED_LINE_FIELDS = ("input", "line", "code", "reason")
MERGE_BATCH = 500
STORE_ATTEMPTS = 3
ORDER = ("source_namespace", "source_label", "host", "port", "protocol", "pk")  # NB: grouped by source
PODS = ResourceType("", "v1", "Pod", "pods")
# NB: what merging an upload into a stored flow changes (the key and the source never change).
MERGED_FIELDS = (
    "count",
    "reached",
    "first_seen",
    "last_seen",
    "outcomes",
    "clusters",
    "cluster_kinds",
    "last_upload",
    "updated_at",
)


class DiscoveryError(services.ServiceError):
    """An upload, proposal or replay refused; nothing was stored."""

    code = "EGRESS-DISC30"


class DiscoveryForbidden(services.ServiceError):
    """The user's role may not do this to observations."""

    code = "permission_denied"
    status = 403


class UploadTooLarge(services.ServiceError):
    """The upload is over ``EGRESS_DISCOVERY_MAX_UPLOAD_BYTES``; it was not read."""

    code = "EGRESS-DISC31"
    status = 413


class NoAccessLog(services.ServiceError):
    """Empty logs, or refused lines and not one flow; nothing was stored. ``refused_lines`` lists the first lines."""

    code = "EGRESS-DISC32"

    def __init__(self, message: str, refused_lines: list[dict[str, Any]]) -> None:
        super().__init__(message, path="logs")
        self.refused_lines = refused_lines


class ClusterUnavailable(services.ServiceError):
    """The registered cluster's pod list could not be read; ``code`` is the cluster layer's."""

    status = 502

    def __init__(self, error: ClusterError) -> None:
        super().__init__(error.message, path="cluster")
        self.code = error.code


class ConcurrentUpload(services.ServiceError):
    """Concurrent uploads kept storing the same new flows first, past the retries; nothing was stored."""

    code = "EGRESS-DISC33"
    status = 409


# -- limits and permissions --------------------------------------------------------------------------------


def max_upload_bytes() -> int:
    """The largest upload the console and API read (``EGRESS_DISCOVERY_MAX_UPLOAD_BYTES``)."""
    return int(getattr(settings, "EGRESS_DISCOVERY_MAX_UPLOAD_BYTES", 64 * 1024 * 1024))


def retention_days() -> int:
    """Days a flow is kept after the last upload that saw it (``EGRESS_OBSERVATION_RETENTION_DAYS``)."""
    return int(getattr(settings, "EGRESS_OBSERVATION_RETENTION_DAYS", 30))


def require_upload_size(size: int) -> None:
    """Raise ``UploadTooLarge`` when ``size`` bytes (a declared length) are over the limit."""
    limit = max_upload_bytes()
    if size > limit:
        raise UploadTooLarge(
            _(
                "The upload is %(size)d bytes; the console and API read at most %(limit)d bytes of access logs "
                "(EGRESS_DISCOVERY_MAX_UPLOAD_BYTES). Nothing was read or stored. Split the logs, or read them "
                "with 'egress discover', which streams files of any size."
            )
            % {"size": size, "limit": limit},
            path="logs",
        )


def require_permission(user: Any, permission: str) -> None:
    """``DiscoveryForbidden`` unless ``user`` holds ``permission``."""
    if not (getattr(user, "is_authenticated", False) and user.has_perm(permission)):
        if permission == DELETE_PERMISSION:
            raise DiscoveryForbidden(_("Only the admin role deletes observations."))
        raise DiscoveryForbidden(_("Your role may not upload observations or propose rules; editors and admins may."))


# -- ingest --------------------------------------------------------------------------------------------------


@dataclass
class LogInput:
    """One access log to read: a name to report lines against, its byte stream and its size."""

    name: str
    stream: IO[bytes] | Iterable[bytes]
    size: int


@dataclass
class SourceSpec:
    """Where sources come from: a pod list document, a registered cluster, and/or a namespace + labels."""

    pods_document: Any = None
    cluster: Cluster | None = None
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class IngestResult:
    """The stored upload, its summary, and how many flows were new, merged and pruned."""

    upload: ObservationUpload
    created: int
    merged: int
    pruned: int


def ingest(gateway: EgressGateway, logs: Sequence[LogInput], sources: SourceSpec, *, user: Any) -> IngestResult:
    """Read ``logs`` into flows and merge them into the gateway's stored observations, atomically.

    Raises:
        DiscoveryForbidden: the user may not upload.
        DiscoveryError: no log, an invalid namespace/labels or pod list.
        ClusterUnavailable: the registered cluster's pods could not be listed.
        NoAccessLog: the logs are empty, or refused lines and not one flow (nothing stored).
        ConcurrentUpload: concurrent uploads kept storing the same new flows (after retries; nothing stored).
    """
    require_permission(user, UPLOAD_PERMISSION)
    if not logs:
        raise DiscoveryError(_("Give at least one access log (a file or pasted text)."), path="logs")
    require_upload_size(sum(log.size for log in logs))
    aggregator = FlowAggregator(resolver_for(sources))
    refused_lines = _read_all(aggregator, logs)
    summary = aggregator.summary
    if summary.lines == 0:
        raise NoAccessLog(_("The logs are empty; nothing was stored."), refused_lines)
    if summary.flows == 0 and summary.refused_total:
        message = _("No line is an access-log line in Istio's default TEXT or JSON format; nothing was stored.")
        if summary.entries:
            message = _("Not one access-log line could be read into a flow (see each line); nothing was stored.")
        raise NoAccessLog(message, refused_lines)
    flows, summary_data = aggregator.flows(), summary.as_dict()
    attempt = 1
    while True:
        try:
            return _store(gateway, flows, summary_data, refused_lines, logs, sources, user)
        except IntegrityError as exc:
            # NB: a concurrent upload inserted one of our new flows first; the whole transaction rolled back,
            # and the next attempt finds that row and merges into it.
            if attempt == STORE_ATTEMPTS:
                raise ConcurrentUpload(
                    _("Other uploads kept storing the same flows at the same moment; nothing was stored. Retry.")
                ) from exc
            attempt += 1


def _read_all(aggregator: FlowAggregator, logs: Sequence[LogInput]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for log in logs:
        for refusal in aggregator.feed(log.stream):
            if len(kept) < MAX_REFUSED_KEPT:
                kept.append(_refused_line(log.name, refusal))
    return kept


def _refused_line(name: str, refusal: RefusedLine) -> dict[str, Any]:
    """A refused line as stored: input, line, code, the reason in English, and its template and params
    (so that a page can show it in the reader's language)."""
    line = {"input": name, "line": refusal.line, "code": refusal.code, "reason": refusal.reason}
    return {**line, "template": refusal.template, "params": {key: str(value) for key, value in refusal.params}}


def translated_lines(lines: list[dict[str, Any]], translate: Callable[[str], str]) -> list[dict[str, Any]]:
    """Stored refused lines with ``reason`` in the language of ``translate``."""
    return [{**line, "reason": _translated_reason(line, translate)} for line in lines]


def _translated_reason(line: dict[str, Any], translate: Callable[[str], str]) -> str:
    try:
        return translate(line["template"]).format(**line["params"])
    except (KeyError, IndexError, ValueError):  # NB: a catalog entry that lost a placeholder: the English stays
        return str(line.get("reason", ""))


def resolver_for(sources: SourceSpec) -> SourceResolver:
    """The pod → workload map of an upload.

    Raises:
        DiscoveryError: the pod list or the namespace/labels are invalid.
        ClusterUnavailable: the cluster's pod list could not be read.
    """
    fallback = None
    if sources.labels and not sources.namespace:
        raise DiscoveryError(_("Labels need a namespace."), path="namespace")
    if sources.namespace:
        fallback = Workload.of(*_parsed_source(sources.namespace, sources.labels))
    pods = None
    if sources.pods_document is not None:
        try:
            pods = PodIndex.from_document(sources.pods_document)
        except PodListError as exc:
            raise DiscoveryError(str(exc), path=f"pods.{exc.path}" if exc.path else "pods") from exc
    elif sources.cluster is not None:
        pods = cluster_pods(sources.cluster)
    return SourceResolver(pods, fallback)


def _parsed_source(namespace: str, labels: dict[str, str]) -> tuple[str, dict[str, str]]:
    for key, value in labels.items():
        if "," in key or "=" in key or "," in value:
            raise DiscoveryError(_("Label %(key)s is not a label name and value.") % {"key": key[:63]}, path="labels")
    text = ",".join(f"{key}={value}" for key, value in labels.items())
    try:
        return parse_source(f"{namespace}:{text}")
    except SimulationInputError as exc:
        error = DiscoveryError(exc.message, path="labels" if exc.code != "EGRESS-SIM06" else "namespace")
        error.code = exc.code
        raise error from exc


def parse_labels(text: str) -> dict[str, str]:
    """``app=web,version=v1`` → a dict; ``DiscoveryError`` on a pair without ``=``."""
    labels: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DiscoveryError(_("Label '%(pair)s' must be key=value.") % {"pair": pair[:80]}, path="labels")
        labels[key.strip()] = value.strip()
    return labels


def named_cluster(name: str) -> Cluster | None:
    """The registered cluster the form or request names (None when it names none); ``DiscoveryError`` when unknown."""
    if not name:
        return None
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        raise DiscoveryError(_("There is no cluster %(name)s.") % {"name": name[:63]}, path="cluster")
    return cluster


def read_pod_document(upload: IO[bytes] | None) -> Any:
    """The pod list file's JSON (one document, so read whole; the upload limit bounds it); None without a file."""
    if upload is None:
        return None
    try:
        return json.load(upload)
    except (ValueError, RecursionError) as exc:
        raise DiscoveryError(
            _("The pod list is not JSON (kubectl get pods -A -o json): %(error)s") % {"error": exc}, path="pods"
        ) from exc


def cluster_pods(cluster: Cluster) -> PodIndex:
    """Every pod of a registered cluster (read-only list through the cluster layer) as a pod index."""
    try:
        # NB: someone waits on the upload: the connection check's short timeouts, not the apply path's.
        items = connect_cluster(cluster, retry=CHECK_RETRY).list(resource=PODS, label_selector="")
    except ClusterError as exc:
        raise ClusterUnavailable(exc) from exc
    pods: dict[tuple[str, str], dict[str, str]] = {}
    for item in items:
        meta = item.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace")
        if isinstance(name, str) and isinstance(namespace, str):
            labels = meta.get("labels") or {}
            pods[(namespace, name)] = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    return PodIndex.from_pods(pods)


def _store(
    gateway: EgressGateway,
    flows: list[Flow],
    summary: dict[str, Any],
    refused_lines: list[dict[str, Any]],
    logs: Sequence[LogInput],
    sources: SourceSpec,
    user: Any,
) -> IngestResult:
    now = timezone.now()
    with transaction.atomic():
        upload = ObservationUpload.objects.create(
            gateway=gateway,
            cluster=sources.cluster,
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
            inputs=[{"name": log.name, "bytes": log.size} for log in logs],
            pod_source=_pod_source(sources),
            summary=summary,
            refused_lines=refused_lines,
        )
        created, merged = _merge(gateway, sources.cluster, flows, upload, now)
        pruned = prune(now=now)
        result = {"gateway": gateway.name, "upload": upload.pk, "inputs": upload.inputs, "created": created}
        append_entry(
            action="observations.upload",
            user=user,
            cluster=sources.cluster.name if sources.cluster else "",
            result={**result, "merged": merged, "pruned": pruned, "summary": summary},
        )
    return IngestResult(upload, created, merged, pruned)


def _pod_source(sources: SourceSpec) -> str:
    if sources.pods_document is not None:
        return ObservationUpload.PodSource.DOCUMENT
    if sources.cluster is not None:
        return ObservationUpload.PodSource.CLUSTER
    return ObservationUpload.PodSource.NAMESPACE


def flow_key_hash(gateway: EgressGateway, cluster: Cluster | None, key: FlowKey) -> str:
    """The stored identity of a flow: sha256 over gateway, cluster, source, host, port and protocol."""
    source = key.source
    parts = [gateway.pk, cluster.pk if cluster else None, source.namespace, source.labels, key.host, key.port]
    return hashlib.sha256(json.dumps([*parts, key.protocol]).encode()).hexdigest()


def _merge(
    gateway: EgressGateway, cluster: Cluster | None, flows: list[Flow], upload: ObservationUpload, now: datetime
) -> tuple[int, int]:
    """Add ``flows`` to the stored rows of the same key (locked), create the others; (created, merged)."""
    created = merged = 0
    for start in range(0, len(flows), MERGE_BATCH):
        batch = {flow_key_hash(gateway, cluster, flow.key): flow for flow in flows[start : start + MERGE_BATCH]}
        existing = {row.key_hash: row for row in ObservedFlow.objects.select_for_update().filter(key_hash__in=batch)}
        for key_hash, row in existing.items():
            _add_into(row, batch[key_hash], upload, now)
        _update_rows(list(existing.values()))
        _insert_rows(
            [
                _new_row(gateway, cluster, key_hash, flow, upload, now)
                for key_hash, flow in batch.items()
                if key_hash not in existing
            ]
        )
        created, merged = created + len(batch) - len(existing), merged + len(existing)
    return created, merged


def _update_rows(rows: list[ObservedFlow]) -> None:
    """Write the merged fields of ``rows``: one prepared UPDATE, run for every row.

    NB: ``bulk_update`` builds a CASE expression per field and row; at 10,000 flows it took about a
    minute (bench/discover_store.py), this takes under a second.
    """
    fields = [cast(Field, ObservedFlow._meta.get_field(name)) for name in MERGED_FIELDS]
    columns = ", ".join(f"{_quoted(field)} = %s" for field in fields)
    sql = f"UPDATE {_table()} SET {columns} WHERE id = %s"  # noqa: S608 - the model's own names
    _run_for_each(sql, fields, rows, with_pk=True)


def _insert_rows(rows: list[ObservedFlow]) -> None:
    """Insert ``rows``: one prepared INSERT, run for every row (``bulk_create`` spent most of an upload
    of 100,000 new flows compiling its statement)."""
    fields = [field for field in ObservedFlow._meta.concrete_fields if not field.primary_key]
    columns, slots = ", ".join(map(_quoted, fields)), ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {_table()} ({columns}) VALUES ({slots})"  # noqa: S608 - the model's own names
    _run_for_each(sql, fields, rows, with_pk=False)


def _run_for_each(sql: str, fields: list[Field], rows: list[ObservedFlow], *, with_pk: bool) -> None:
    if not rows:
        return
    values = [
        [*(field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields), *([row.pk] * with_pk)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _table() -> str:
    return connection.ops.quote_name(ObservedFlow._meta.db_table)


def _quoted(field: Field) -> str:
    return connection.ops.quote_name(str(field.column))


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _new_row(
    gateway: EgressGateway, cluster: Cluster | None, key_hash: str, flow: Flow, upload: ObservationUpload, now: datetime
) -> ObservedFlow:
    source = flow.key.source
    return ObservedFlow(
        gateway=gateway,
        cluster=cluster,
        key_hash=key_hash,
        source_namespace=source.namespace,
        source_labels=source.label_map,
        source_label=source.label,
        host=flow.key.host,
        port=flow.key.port,
        protocol=flow.key.protocol,
        count=flow.count,
        reached=flow.reached,
        first_seen=_instant(flow.first_seen),
        last_seen=_instant(flow.last_seen),
        outcomes=dict(flow.outcomes),
        clusters=dict(flow.clusters),
        cluster_kinds=dict(flow.cluster_kinds),
        last_upload=upload,
        updated_at=now,
    )


def _add_into(row: ObservedFlow, flow: Flow, upload: ObservationUpload, now: datetime) -> None:
    row.count += flow.count
    row.reached += flow.reached
    row.first_seen = min(row.first_seen, _instant(flow.first_seen))
    row.last_seen = max(row.last_seen, _instant(flow.last_seen))
    row.outcomes = _summed(row.outcomes, flow.outcomes)
    row.clusters = _summed(row.clusters, flow.clusters, limit=MAX_CLUSTERS_PER_FLOW)
    row.cluster_kinds = _summed(row.cluster_kinds, flow.cluster_kinds)
    row.last_upload = upload
    row.updated_at = now


def _summed(stored: dict[str, int], more: dict[str, int], *, limit: int | None = None) -> dict[str, int]:
    total = dict(stored)
    for name, count in more.items():
        if name in total or limit is None or len(total) < limit:
            total[name] = total.get(name, 0) + count
    return total


def prune(*, now: datetime | None = None) -> int:
    """Delete flows and uploads no upload touched within the retention period; the number of flows deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days())
    deleted, _by_model = ObservedFlow.objects.filter(updated_at__lt=cutoff).delete()
    ObservationUpload.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def delete_observations(gateway: EgressGateway | None, *, user: Any) -> int:
    """Delete every stored flow and upload (of one gateway, or all); admins only. The number of flows deleted."""
    require_permission(user, DELETE_PERMISSION)
    flows, uploads = ObservedFlow.objects.all(), ObservationUpload.objects.all()
    if gateway is not None:
        flows, uploads = flows.filter(gateway=gateway), uploads.filter(gateway=gateway)
    with transaction.atomic():
        deleted, _by_model = flows.delete()
        uploads.delete()
        scope = gateway.name if gateway is not None else None
        append_entry(action="observations.delete", user=user, result={"gateway": scope, "deleted": deleted})
    return deleted


# -- reading -------------------------------------------------------------------------------------------------


@dataclass
class FlowFilter:
    """The flow list's filters (empty: not filtered)."""

    gateway: EgressGateway | None = None
    namespace: str = ""
    host: str = ""
    outcome: str = ""
    reached: bool | None = None


def stored_flows(filters: FlowFilter) -> QuerySet[ObservedFlow]:
    """Stored flows matching ``filters``, grouped by source then destination."""
    rows = ObservedFlow.objects.select_related("gateway", "cluster")
    if filters.gateway is not None:
        rows = rows.filter(gateway=filters.gateway)
    if filters.namespace:
        rows = rows.filter(source_namespace=filters.namespace)
    if filters.host:
        rows = rows.filter(host__icontains=filters.host)
    if filters.outcome:
        rows = rows.filter(outcomes__has_key=filters.outcome)
    if filters.reached is not None:
        rows = rows.filter(reached__gt=0) if filters.reached else rows.filter(reached=0)
    return rows.order_by(*ORDER)


def core_flow(row: ObservedFlow) -> Flow:
    """A stored flow as the core's ``Flow`` (what propose and replay take)."""
    return _flow_of_values(*(getattr(row, name) for name in CORE_FIELDS))


CORE_FIELDS = (
    *("source_namespace", "source_labels", "host", "port", "protocol", "count", "first_seen", "last_seen"),
    *("outcomes", "clusters", "cluster_kinds", "reached"),
)


def gateway_flows(gateway: EgressGateway) -> list[Flow]:
    """Every stored flow of the gateway as the core's ``Flow``, read as plain values (no model instances).

    NB: replay reads every flow of a gateway; building model rows took most of its time at 100,000 flows.
    """
    rows = ObservedFlow.objects.filter(gateway=gateway).order_by(*ORDER).values_list(*CORE_FIELDS)
    return [_flow_of_values(*values) for values in rows.iterator(chunk_size=5_000)]


def _flow_of_values(
    namespace: str,
    labels: dict[str, str],
    host: str,
    port: int,
    protocol: str,
    count: int,
    first_seen: datetime,
    last_seen: datetime,
    outcomes: dict[str, int],
    clusters: dict[str, int],
    cluster_kinds: dict[str, int],
    reached: int,
) -> Flow:
    key = FlowKey(Workload.of(namespace, labels), host, port, cast(FlowProtocol, protocol))
    first, last = _iso(first_seen), _iso(last_seen)
    return Flow(
        key,
        count=count,
        first_seen=first,
        last_seen=last,
        outcomes=outcomes,
        clusters=clusters,
        cluster_kinds=cluster_kinds,
        reached=reached,
    )


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def flow_data(row: ObservedFlow) -> dict[str, Any]:
    """The API's view of a stored flow: its id and scope, then the core's JSON contract."""
    return {
        "id": row.pk,
        "gateway": row.gateway.name,
        "cluster": row.cluster.name if row.cluster else None,
        **core_flow(row).as_dict(),
        "lastIngested": row.updated_at,
    }


def upload_data(upload: ObservationUpload) -> dict[str, Any]:
    """The API's view of an upload: who, when, inputs, the summary and the first refused lines."""
    return {
        "id": upload.pk,
        "gateway": upload.gateway.name,
        "cluster": upload.cluster.name if upload.cluster else None,
        "uploadedBy": upload.uploaded_by.get_username() if upload.uploaded_by else None,
        "createdAt": upload.created_at,
        "inputs": upload.inputs,
        "podSource": upload.pod_source,
        "summary": upload.summary,
        "refusedLines": [{key: line[key] for key in REFUSED_LINE_FIELDS} for line in upload.refused_lines],
        "refusedLinesListed": len(upload.refused_lines),
    }


def observed_gateways() -> list[EgressGateway]:
    """Gateways with stored observations."""
    return list(EgressGateway.objects.filter(observed_flows__isnull=False).distinct().order_by("name"))


# -- propose -------------------------------------------------------------------------------------------------


@dataclass
class ProposalResult:
    """A proposal, the diff from the current draft, and (when saved) the draft or new policy."""

    proposal: Proposal
    base_document: dict[str, Any] | None
    draft_version: int | None
    saved: PolicyDraft | None = None
    created_policy: EgressPolicy | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: proposal (core), diff {changes, lines}, draftVersion, saved, policy."""
        old = _policy_of(self.base_document)
        new = self.proposal.policy
        old_text = dump_policy(old) if old is not None else ""
        new_text = dump_policy(new) if new is not None else old_text
        saved_version = self.saved.version if self.saved is not None else None
        policy = self.created_policy or (self.saved.policy if self.saved is not None else None)
        return {
            "proposal": self.proposal.as_dict(_),
            "diff": {
                "changes": [change.as_dict(_) for change in policy_changes(old, new)] if new is not None else [],
                "lines": line_diff(old_text, new_text).as_dict(),
            },
            "draftVersion": saved_version if saved_version is not None else self.draft_version,
            "saved": self.saved is not None or self.created_policy is not None,
            "policy": policy.name if policy is not None else None,
        }


def selected_flows(gateway: EgressGateway, ids: Sequence[int]) -> list[ObservedFlow]:
    """The gateway's stored flows with these ids; ``DiscoveryError`` naming any id that is not one of them."""
    if not ids:
        raise DiscoveryError(_("Select at least one observed flow."), path="flows")
    if len(ids) > MAX_SELECTED_FLOWS:
        raise DiscoveryError(_("Select at most %(limit)d flows at once.") % {"limit": MAX_SELECTED_FLOWS}, path="flows")
    rows = {row.pk: row for row in ObservedFlow.objects.filter(gateway=gateway, pk__in=ids)}
    for position, flow_id in enumerate(ids):
        if flow_id not in rows:
            raise DiscoveryError(
                _("No observed flow %(id)s for gateway %(gateway)s.") % {"id": flow_id, "gateway": gateway.name},
                path=f"flows[{position}]",
            )
    return [rows[flow_id] for flow_id in dict.fromkeys(ids)]


def propose(
    gateway: EgressGateway,
    ids: Sequence[int],
    *,
    user: Any,
    save: bool = False,
    expected_version: int | None = None,
    https_upgrade: bool = True,
) -> ProposalResult:
    """A draft that allows the selected flows, built on the current draft; saved when ``save``.

    Raises:
        DiscoveryForbidden: the user may not propose.
        DiscoveryError: unknown flows, nothing to allow, or a current draft with errors.
        StaleDraft: ``expected_version`` is not the draft's version (nothing saved).
        PolicyInvalid: (a bug) the proposal does not validate.
    """
    require_permission(user, UPLOAD_PERMISSION)
    flows = [core_flow(row) for row in selected_flows(gateway, ids)]
    policy = gateway_policy(gateway)
    draft = getattr(policy, "draft", None) if policy is not None else None
    if save and draft is not None and expected_version is not None and expected_version != draft.version:
        # NB: said first: the proposal made against the newer draft may differ from the one the user saw.
        raise _stale(draft.version, expected_version)
    base_document = draft.document if draft is not None else None
    try:
        proposal = propose_policy(
            flows,
            gateway.describe(),
            base=_policy_of(base_document),
            settings=services.translation_settings(),
            https_upgrade=https_upgrade,
        )
    except ProposalError as exc:
        raise DiscoveryError(str(exc), exc.findings) from exc
    result = ProposalResult(proposal, base_document, draft.version if draft is not None else None)
    if save:
        _save(result, policy, draft, expected_version, user)
    return result


def gateway_policy(gateway: EgressGateway | None) -> EgressPolicy | None:
    """The gateway's policy with its draft read in the same query; None without a gateway or a policy."""
    if gateway is None:
        return None
    return EgressPolicy.objects.filter(gateway=gateway).select_related("draft", "gateway").first()


def _stale(now: int, yours: int) -> services.StaleDraft:
    return services.StaleDraft(
        _(
            "The draft was changed by someone else (now version %(now)d, the proposal was made against version "
            "%(yours)d). Propose again to see it against the current draft; nothing was saved."
        )
        % {"now": now, "yours": yours},
        path="draftVersion",
    )


def _save(
    result: ProposalResult, policy: EgressPolicy | None, draft: PolicyDraft | None, expected: int | None, user: Any
) -> None:
    if not result.proposal.covered or result.proposal.policy is None:
        raise DiscoveryError(_("The selected flows are allowed already or cannot be expressed; nothing to save."))
    document = policy_to_data(result.proposal.policy)
    if policy is None or draft is None:
        message = _("Proposed from observed traffic")
        result.created_policy = services.create_policy(document, user=user, message=message)
        result.saved = PolicyDraft.objects.get(policy=result.created_policy)
        return
    if expected is None:
        raise services.StaleDraft(
            _("Name the draft version the proposal was made against (If-Match); nothing was saved."),
            path="draftVersion",
        )
    result.saved = services.save_draft(policy, document, expected_version=expected, user=user)


def _policy_of(document: dict[str, Any] | None) -> PolicyModel | None:
    if document is None:
        return None
    return parse_policy_data(document).policy


# -- replay --------------------------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    """What a candidate does to the gateway's stored flows, and which candidate it was."""

    report: ReplayReport
    against: dict[str, Any]
    flows: int

    def as_dict(self, *, changes_only: bool = True) -> dict[str, Any]:
        """JSON contract: against {kind, revision, review}, flows (replayed), counts, flows (core rows)."""
        data = self.report.as_dict(_, changes_only=changes_only)
        return {"against": self.against, "replayed": self.flows, **data}


def replay(gateway: EgressGateway, against: str, *, mesh_mode: str = "REGISTRY_ONLY") -> ReplayResult:
    """Replay the gateway's stored flows under ``against``: ``draft``, ``revision:N`` or ``review:ID``.

    Raises:
        DiscoveryError: an unknown candidate, or a candidate with validation errors.
    """
    document, described = _candidate(gateway, against)
    flows = gateway_flows(gateway)
    return ReplayResult(_replayed(gateway, document, flows, mesh_mode), described, len(flows))


def replay_for_review(review: Review) -> ReplayResult | None:
    """The review page's replay: the gateway's stored flows under the review's revision; None without any."""
    gateway = review.policy.gateway
    flows = gateway_flows(gateway)
    if not flows:
        return None
    described = {"kind": "review", "review": review.pk, "revision": review.revision.number}
    try:
        report = _replayed(gateway, review.revision.document, flows, "REGISTRY_ONLY")
    except DiscoveryError:
        return None  # NB: an invalid revision cannot be in review; nothing to show rather than a broken page.
    return ReplayResult(report, described, len(flows))


def _candidate(gateway: EgressGateway, against: str) -> tuple[dict[str, Any], dict[str, Any]]:
    kind, _sep, value = against.partition(":")
    policy = gateway_policy(gateway)
    if policy is None:
        raise DiscoveryError(
            _("Gateway %(gateway)s has no policy yet; propose one first.") % {"gateway": gateway.name}, path="against"
        )
    if kind == "draft" and not value:
        return policy.draft.document, {"kind": "draft", "draftVersion": policy.draft.version}
    if kind in ("revision", "review") and value.isdigit():
        return _stored_candidate(policy, kind, int(value))
    raise DiscoveryError(_("Replay against draft, revision:N or review:ID."), path="against")


def _stored_candidate(policy: EgressPolicy, kind: str, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if kind == "revision":
        revision = PolicyRevision.objects.filter(policy=policy, number=number).first()
        if revision is None:
            raise DiscoveryError(_("Policy %(policy)s has no revision %(n)d.") % {"policy": policy.name, "n": number})
        return revision.document, {"kind": "revision", "revision": number}
    review = Review.objects.select_related("revision").filter(policy=policy, pk=number).first()
    if review is None:
        raise DiscoveryError(_("Policy %(policy)s has no review %(n)d.") % {"policy": policy.name, "n": number})
    return review.revision.document, {"kind": "review", "review": number, "revision": review.revision.number}


def _replayed(gateway: EgressGateway, document: dict[str, Any], flows: list[Flow], mesh_mode: str) -> ReplayReport:
    candidate = _policy_of(document)
    if candidate is None:
        raise DiscoveryError(_("The candidate policy cannot be read."), path="against")
    try:
        return replay_flows(flows, candidate, gateway.describe(), services.translation_settings(), mesh_mode=mesh_mode)
    except ExpansionError as exc:
        raise DiscoveryError(
            _("The candidate has validation errors; fix them before replaying: %(error)s") % {"error": exc.message},
            path="against",
        ) from exc
