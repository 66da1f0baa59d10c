"""``/api/v1/discoveries/``: upload access logs, read observed flows, propose rules, replay a candidate.

- ``GET /discoveries/`` the uploads (newest first); ``POST`` one upload: multipart log files
  (streamed to disk by Django's upload handlers and read line by line, at most
  ``EGRESS_DISCOVERY_MAX_UPLOAD_BYTES``, 413 from ``Content-Length`` before anything is read) or
  JSON with pasted ``text`` (1 MiB, as every JSON body); answers the ingest summary with the
  first refused lines (input, line number, code, reason).
- ``GET /discoveries/flows/`` the observed flows (filters, paged); ``DELETE`` a gateway's
  observations (admins).
- ``POST /discoveries/propose/`` a new draft allowing the selected flows, with its diff from the
  current draft; ``save: true`` writes it (If-Match: the draft's ETag, as for policy edits).
- ``POST /discoveries/replay/`` the gateway's flows under the draft, a revision or a review's revision.

Who may: reading and replaying needs ``policies.view_observedflow`` (every role), uploading and
proposing ``policies.add_observedflow`` (editors, admins), deleting ``policies.delete_observedflow``
(admins).
"""

from __future__ import annotations

import io
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from policies import discovery
from policies.api.errors import ApiError, BodyUnreadableError, RequestTooLargeError, error_entry
from policies.api.etag import etag_for, expected_version
from policies.api.schema import ERRORS_REF, error_responses
from policies.api.serializers.discoveries import (
    DeletedSerializer,
    DeleteQuerySerializer,
    FlowPageSerializer,
    FlowQuerySerializer,
    IngestFormSerializer,
    IngestJsonSerializer,
    IngestResultSerializer,
    ProposeResultSerializer,
    ProposeSerializer,
    ReplayResultSerializer,
    ReplaySerializer,
    UploadQuerySerializer,
    UploadSerializer,
)
from policies.api.views.base import ApiViewMixin, declared_length, mapping_body
from policies.models import EgressGateway, ObservationUpload

GATEWAY = "egressgateway"
SLEEP_A = {"app": "sleep-a"}
NOTHING_PRUNED = {"pruned": 0}
MAX_UPLOADS_LISTED = 100
DEFAULT_FLOW_PAGE = 500
MAX_FLOW_PAGE = 5000
PASTED = "text"
READ, WRITE, DELETE = "policies.view_observedflow", discovery.UPLOAD_PERMISSION, discovery.DELETE_PERMISSION


class DiscoveryPermission(BasePermission):
    """Reads and replays need the view permission, uploads and proposals the add one, deletion the delete one."""

    message = gettext_lazy("Your role does not allow this on observed traffic.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.has_perm(self.needed(request, view)))

    @staticmethod
    def needed(request: Request, view: Any) -> str:
        if request.method == "DELETE":
            return DELETE
        if getattr(view, "action", None) in ("create", "propose"):
            return WRITE
        return READ


class NoAccessLogError(ApiError):
    """Not one line was an access-log line: the summary, then each listed refused line, line-numbered."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "EGRESS-DISC32"

    def __init__(self, refusal: discovery.NoAccessLog) -> None:
        super().__init__(refusal.message, code=refusal.code, path=refusal.path)
        self.errors += [
            error_entry(line["code"], f"{line['input']}:{line['line']}", _line_message(line))
            for line in refusal.refused_lines
        ]


def _line_message(line: dict[str, Any]) -> str:
    return _("line %(line)d: %(reason)s") % {"line": line["line"], "reason": line["reason"]}


CLUSTER_ERROR = OpenApiResponse(ERRORS_REF, "The registered cluster's pod list could not be read (its error code).")
UPLOAD_TOO_LARGE = OpenApiResponse(
    ERRORS_REF, "A multipart upload over EGRESS_DISCOVERY_MAX_UPLOAD_BYTES (64 MiB by default), a JSON body over 1 MiB."
)
FLOW = {
    "id": 7,
    "gateway": "egressgateway",
    "cluster": None,
    "source": {"namespace": "mytest", "labels": {"app": "sleep-a"}, "label": "mytest/app=sleep-a"},
    "host": "www.httpbin.org",
    "port": 80,
    "protocol": "HTTP",
    "count": 42,
    "firstSeen": "2026-12-02T10:00:00.000Z",
    "lastSeen": "2026-12-03T07:59:58.120Z",
    "outcomes": {"200": 41, "503": 1},
    "clusters": {"PassthroughCluster": 42},
    "clusterKinds": {"passthrough": 42},
    "reached": 42,
    "allowedToday": True,
    "lastIngested": "2026-12-03T08:00:00Z",
}
CORE_FLOW = {key: value for key, value in FLOW.items() if key not in ("id", "gateway", "cluster", "lastIngested")}
UPLOAD = {
    "id": 3,
    "gateway": "egressgateway",
    "cluster": None,
    "uploadedBy": "editor",
    "createdAt": "2026-12-03T08:00:00Z",
    "inputs": [{"name": "sleep-a.log", "bytes": 18231}],
    "podSource": "namespace",
    "summary": {
        "lines": 44,
        "entries": 43,
        "formats": {"text": 43},
        "refused": {"EGRESS-LOG06": 1},
        "refusedTotal": 1,
        "meshInternal": 1,
        "flows": 2,
        "overLimit": 0,
    },
    "refusedLines": [
        {
            "input": "sleep-a.log",
            "line": 12,
            "code": "EGRESS-LOG06",
            "reason": "A log line of the proxy itself (pilot-agent or Envoy), not an access-log line.",
        }
    ],
    "refusedLinesListed": 1,
}
TEXT_LINE = (
    '[2026-12-03T07:59:58.120Z] "GET /get HTTP/1.1" 200 - via_upstream - "-" 0 256 12 11 "-" "curl/8.5.0" '
    '"8d0b4a8e-0c4e-4f1e-9d7e-3c8f2a1b0c9d" "www.httpbin.org" "34.1.1.1:80" PassthroughCluster 10.244.0.12:40124 '
    "34.1.1.1:80 10.244.0.12:40122 - allow_any"
)
PROPOSAL_POLICY = {
    "apiVersion": "istio.alibabacloud.com/v1",
    "kind": "ASMEgressTrafficPolicy",
    "metadata": {"name": "egress-by-egressgateway", "namespace": "istio-egress"},
    "spec": {
        "byEgressGateway": {"name": "egressgateway"},
        "egressRules": [
            {
                "name": "discovered-mytest",
                "from": [{"namespace": "mytest", "workloadSelector": {"app": "sleep-a"}}],
                "to": [
                    {
                        "name": "www-httpbin-org-80",
                        "hosts": ["www.httpbin.org"],
                        "port": {"name": "http-80", "number": 80, "protocol": "HTTP"},
                        "byEgressGateway": {"port": 80},
                    }
                ],
            }
        ],
    },
}


@extend_schema_view(
    list=extend_schema(
        summary="List uploads of access logs (newest first, at most 100)",
        parameters=[UploadQuerySerializer],
        examples=[OpenApiExample("One upload", response_only=True, value=[UPLOAD])],
        responses={200: UploadSerializer(many=True), **error_responses(400)},
    ),
    create=extend_schema(
        summary="Upload access logs: flows are merged into the gateway's observations; refused lines come back",
        description="Multipart: `logs` (one or more files, Istio's default TEXT or JSON access-log encoding, "
        "with or without `kubectl logs --prefix` prefixes), `pods` (a `kubectl get pods -A -o json` file), "
        "`text` (pasted lines), `gateway`, `cluster` (a registered cluster whose pod list maps prefixes), "
        "`namespace` + `labels` (`k=v,...`) for lines without a prefix. JSON: the same with `text`, `pods` as "
        "an object and `labels` as an object. Refused lines are reported (line number, stable code, reason) "
        "and the rest is stored; an upload without a single access-log line, or one that fails while being "
        "stored, stores nothing. Raw log text is never stored.",
        request={"multipart/form-data": IngestFormSerializer, "application/json": IngestJsonSerializer},
        examples=[
            OpenApiExample(
                "Pasted lines of one workload",
                request_only=True,
                value={
                    "gateway": "egressgateway",
                    "text": TEXT_LINE,
                    "namespace": "mytest",
                    "labels": {"app": "sleep-a"},
                },
            ),
            OpenApiExample(
                "Stored",
                response_only=True,
                status_codes=["201"],
                value={**UPLOAD, "created": 2, "merged": 0, "pruned": 0},
            ),
        ],
        responses={
            201: IngestResultSerializer,
            **error_responses(400, 404, 409, 415),
            413: UPLOAD_TOO_LARGE,
            502: CLUSTER_ERROR,
        },
    ),
)
class DiscoveryViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Observed egress traffic of the mesh's workloads, per gateway."""

    permission_classes = [DiscoveryPermission]
    serializer_class = UploadSerializer
    queryset = ObservationUpload.objects.none()

    def get_parsers(self) -> list[Any]:
        parsers = super().get_parsers()
        action_name = getattr(self, "action", None)
        if action_name is None and getattr(self, "request", None) is not None:
            # NB: a request is parsed before ``self.action`` is set; the route's method map names the action.
            action_name = getattr(self, "action_map", {}).get((self.request.method or "").lower())
        return [*parsers, MultiPartParser()] if action_name == "create" else parsers

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not _is_multipart(request):
            super().initial(request, *args, **kwargs)
            return
        # NB: past ApiViewMixin's 1 MiB check: multipart log files have their own, larger limit.
        super(ApiViewMixin, self).initial(request, *args, **kwargs)
        discovery.require_upload_size(declared_length(request))

    def list(self, request: Request) -> Response:
        query = _query(UploadQuerySerializer, request)
        uploads = ObservationUpload.objects.select_related("gateway", "cluster", "uploaded_by")
        if query["gateway"]:
            uploads = uploads.filter(gateway__name=query["gateway"])
        return Response([discovery.upload_data(upload) for upload in uploads[:MAX_UPLOADS_LISTED]])

    def create(self, request: Request) -> Response:
        if _is_multipart(request):
            fields, logs, pods = _multipart_upload(request)
        else:
            fields, logs, pods = _json_upload(request)
        gateway = _gateway(fields["gateway"])
        sources = discovery.SourceSpec(
            pods, discovery.named_cluster(fields["cluster"]), fields["namespace"], fields["labels"]
        )
        try:
            result = discovery.ingest(gateway, logs, sources, user=request.user)
        except discovery.NoAccessLog as exc:
            raise NoAccessLogError(exc) from exc
        body = {
            **discovery.upload_data(result.upload),
            "created": result.created,
            "merged": result.merged,
            "pruned": result.pruned,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="List observed flows, grouped by source workload and destination",
        parameters=[FlowQuerySerializer],
        examples=[OpenApiExample("One flow", response_only=True, value={"count": 1, "offset": 0, "flows": [FLOW]})],
        responses={200: FlowPageSerializer, **error_responses(400, 404)},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Delete a gateway's observed flows and uploads (admin)",
        parameters=[DeleteQuerySerializer],
        examples=[OpenApiExample("Deleted", response_only=True, value={"gateway": GATEWAY, "deleted": 42})],
        responses={200: DeletedSerializer, **error_responses(400, 404)},
    )
    @action(detail=False, methods=["get", "delete"])
    def flows(self, request: Request) -> Response:
        if request.method == "DELETE":
            gateway = _gateway(_query(DeleteQuerySerializer, request)["gateway"])
            deleted = discovery.delete_observations(gateway, user=request.user)
            return Response({"gateway": gateway.name, "deleted": deleted})
        query = _query(FlowQuerySerializer, request)
        scope = _gateway(query["gateway"]) if query["gateway"] else None
        filters = discovery.FlowFilter(scope, query["namespace"], query["host"], query["outcome"], query["reached"])
        rows = discovery.stored_flows(filters)
        offset, limit = query["offset"], query["limit"]
        page = [discovery.flow_data(row) for row in rows[offset : offset + limit]]
        return Response({"count": rows.count(), "offset": offset, "flows": page})

    @extend_schema(
        summary="Propose a draft that allows the selected flows, with its diff from the current draft",
        description="With `save: true` the proposal becomes the gateway's draft (If-Match: the draft's ETag, "
        "as for a policy edit; a gateway without a policy gets one) and then goes to review like any change.",
        request=ProposeSerializer,
        examples=[
            OpenApiExample(
                "Allow two flows", request_only=True, value={"gateway": "egressgateway", "flows": [7, 8], "save": False}
            ),
            OpenApiExample(
                "A proposal",
                response_only=True,
                value={
                    "proposal": {
                        "policy": PROPOSAL_POLICY,
                        "covered": 1,
                        "alreadyAllowed": 0,
                        "skipped": [],
                        "notes": [],
                    },
                    "diff": {
                        "changes": [
                            {
                                "kind": "rule_added",
                                "path": "spec.egressRules[0]",
                                "message": "rule 1 (discovered-mytest) added: mytest/app=sleep-a → www-httpbin-org-80",
                                "old": None,
                                "new": PROPOSAL_POLICY["spec"]["egressRules"][0],  # type: ignore[index]
                            }
                        ],
                        "lines": {"added": 14, "removed": 1, "rows": []},
                    },
                    "draftVersion": 3,
                    "saved": False,
                    "policy": None,
                },
            ),
        ],
        responses={200: ProposeResultSerializer, **error_responses(400, 404, 412, 413, 415, 428)},
    )
    @action(detail=False, methods=["post"])
    def propose(self, request: Request) -> Response:
        body = ProposeSerializer(data=mapping_body(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        gateway = _gateway(data["gateway"])
        version = _if_match(request, gateway) if data["save"] else None
        result = discovery.propose(
            gateway,
            data["flows"],
            user=request.user,
            save=data["save"],
            expected_version=version,
            https_upgrade=data["httpsUpgrade"],
        )
        answer = result.as_dict()
        headers = {"ETag": etag_for(answer["draftVersion"])} if answer["draftVersion"] is not None else {}
        return Response(answer, headers=headers)

    @extend_schema(
        summary="Replay the gateway's observed flows against the draft, a revision or a review",
        description="Each flow is simulated as `egress simulate` would: `broken` flows reached their host today "
        "and the candidate stops them (502 / reset / 403); `newly_allowed` the reverse. Without `all`, only "
        "those two verdicts are listed (`counts` always has all four).",
        request=ReplaySerializer,
        examples=[
            OpenApiExample(
                "Against the draft", request_only=True, value={"gateway": "egressgateway", "against": "draft"}
            ),
            OpenApiExample(
                "One broken flow",
                response_only=True,
                value={
                    "against": {"kind": "draft", "draftVersion": 3},
                    "replayed": 12,
                    "counts": {"broken": 1, "newly_allowed": 0, "kept": 11, "still_blocked": 0},
                    "flows": [
                        {
                            "flow": CORE_FLOW,
                            "url": "http://www.httpbin.org/",
                            "verdict": "broken",
                            "status": 502,
                            "upstream": None,
                            "reason": "No route matches www.httpbin.org: REGISTRY_ONLY answers 502.",
                        }
                    ],
                },
            ),
        ],
        responses={200: ReplayResultSerializer, **error_responses(400, 404, 413, 415)},
    )
    @action(detail=False, methods=["post"])
    def replay(self, request: Request) -> Response:
        body = ReplaySerializer(data=mapping_body(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        against = data["against"] if data["against"] == "draft" else f"{data['against']}:{data[data['against']]}"
        result = discovery.replay(_gateway(data["gateway"]), against, mesh_mode=data["meshMode"])
        return Response(result.as_dict(changes_only=not data["all"]))


def _json_upload(request: Request) -> tuple[dict[str, Any], list[discovery.LogInput], Any]:
    body = IngestJsonSerializer(data=mapping_body(request))
    body.is_valid(raise_exception=True)
    fields = dict(body.validated_data)
    raw = fields["text"].encode("utf-8", "surrogatepass")
    return fields, [discovery.LogInput(PASTED, io.BytesIO(raw), len(raw))], fields["pods"]


def _multipart_upload(request: Request) -> tuple[dict[str, Any], list[discovery.LogInput], Any]:
    try:
        data = request.data
    except RequestDataTooBig as exc:
        raise RequestTooLargeError(
            _("Pasted text over the form limit was not read; upload the logs as files instead."), path=PASTED
        ) from exc
    except SuspiciousOperation as exc:  # NB: too many files or fields: Django's own guards
        raise BodyUnreadableError(str(exc) or _("The form cannot be read."), path="logs") from exc
    form = IngestFormSerializer(data=data)
    form.is_valid(raise_exception=True)
    fields = dict(form.validated_data)
    fields["labels"] = discovery.parse_labels(fields["labels"])
    logs = [discovery.LogInput(upload.name or "log", upload, upload.size or 0) for upload in fields.get("logs", [])]
    if fields["text"].strip():
        raw = fields["text"].encode("utf-8", "surrogatepass")
        logs.append(discovery.LogInput(PASTED, io.BytesIO(raw), len(raw)))
    return fields, logs, discovery.read_pod_document(fields.get("pods"))


def _is_multipart(request: Request) -> bool:
    return (request.content_type or "").startswith("multipart/form-data")


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _gateway(name: str) -> EgressGateway:
    gateway = EgressGateway.objects.prefetch_related("ports").filter(name=name).first()
    if gateway is None:
        raise NotFound(_("No egress gateway named %(name)s.") % {"name": name[:63]})
    return gateway


def _if_match(request: Request, gateway: EgressGateway) -> int | None:
    """The draft version If-Match names (428 without it, 412 when stale); None when the gateway has no policy."""
    policy = discovery.gateway_policy(gateway)
    if policy is None:
        return None
    return expected_version(request, policy.draft.version)
