"""Bodies of ``/api/v1/discoveries/``: uploads of access logs, observed flows, proposals and replays.

The request serializers validate what a client sends; the response serializers describe (for the
OpenAPI document) the JSON contracts ``policies.discovery`` builds from the core's ``as_dict()``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from policies.api.serializers.strict import StrictFieldsMixin
from policies.api.serializers.tools import MESH_MODES
from policies.models import dns_label

MAX_LOG_TEXT = 1024 * 1024
MAX_LABELS = 64


def optional_text(max_length: int | None = None, **kwargs: Any) -> serializers.CharField:
    """A string field a request may leave out or blank; it reads as ``""`` then."""
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, default="", **kwargs)


def counts() -> serializers.DictField:
    """A mapping of names to counts (outcomes, clusters, refusal codes ...)."""
    return serializers.DictField(child=serializers.IntegerField(min_value=0))


# -- requests -------------------------------------------------------------------------------------------------


class _ScopeFields(serializers.Serializer):
    """The gateway the flows inform, and where their sources come from."""

    gateway = serializers.CharField(max_length=63, validators=[dns_label], help_text="The egress gateway's name.")
    cluster = optional_text(
        63, help_text="A registered cluster whose pods (read-only list) map `[pod/NAME/…]` prefixes to workloads."
    )
    namespace = optional_text(63, help_text="Source namespace of lines without a pod prefix.")


class IngestJsonSerializer(StrictFieldsMixin, _ScopeFields):
    """Pasted access-log text (at most 1 MiB; upload bigger logs as multipart files)."""

    text = serializers.CharField(
        max_length=MAX_LOG_TEXT, trim_whitespace=False, help_text="Access-log lines, TEXT or JSON encoding."
    )
    pods = serializers.JSONField(
        required=False, default=None, help_text="`kubectl get pods -A -o json` output, for prefixed lines."
    )
    labels = serializers.DictField(
        child=serializers.CharField(max_length=63, allow_blank=True),
        required=False,
        default=dict,
        help_text="Source labels that go with `namespace`.",
    )

    def validate_labels(self, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > MAX_LABELS or any(not key or len(key) > 253 for key in labels):
            raise serializers.ValidationError(_("Use at most 64 labels with keys of 1-253 characters."), code="invalid")
        return labels


class IngestFormSerializer(_ScopeFields):
    """A multipart upload: log files (streamed, never held whole), a pod list file, or pasted text."""

    logs = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="One or more access-log files (field repeated)."
    )
    text = optional_text(trim_whitespace=False)
    pods = serializers.FileField(required=False, help_text="A `kubectl get pods -A -o json` file.")
    labels = optional_text(help_text="Source labels `k=v,k2=v2` that go with `namespace`.")


class FlowQuerySerializer(serializers.Serializer):
    """Filters of the flow list."""

    gateway = optional_text(63)
    namespace = optional_text(63)
    host = optional_text(255)
    outcome = optional_text(16, help_text="`200`, `502`, `reset`, `connected` …")
    reached = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only flows that reached (or never reached) the host."
    )
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=5000, required=False, default=500)


class UploadQuerySerializer(serializers.Serializer):
    """Filter of the upload list."""

    gateway = optional_text(63)


class DeleteQuerySerializer(serializers.Serializer):
    """Whose observations an admin deletes."""

    gateway = serializers.CharField(max_length=63, validators=[dns_label])


class ProposeSerializer(StrictFieldsMixin, serializers.Serializer):
    """Which observed flows the new draft should allow, and whether to save it."""

    gateway = serializers.CharField(max_length=63, validators=[dns_label])
    flows = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=5000)
    # NB: the API field shadows Serializer.save only in the stubs: DRF's metaclass moves declared fields off the class.
    save = serializers.BooleanField(  # type: ignore[assignment]
        default=False, help_text="Write the proposal as the draft (send If-Match with the draft's ETag)."
    )
    httpsUpgrade = serializers.BooleanField(  # noqa: N815 - API field name
        default=True, help_text="Suggest httpsUpgrade where a workload sends HTTP to a host it also reaches on 443."
    )


class ReplaySerializer(StrictFieldsMixin, serializers.Serializer):
    """The candidate the gateway's observed flows are replayed against."""

    gateway = serializers.CharField(max_length=63, validators=[dns_label])
    against = serializers.ChoiceField(choices=["draft", "revision", "review"], default="draft")
    revision = serializers.IntegerField(min_value=1, required=False, help_text="With against=revision.")
    review = serializers.IntegerField(min_value=1, required=False, help_text="With against=review.")
    meshMode = serializers.ChoiceField(choices=MESH_MODES, default="REGISTRY_ONLY")  # noqa: N815 - API field name
    all = serializers.BooleanField(default=False, help_text="List every flow, not only broken and newly allowed.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        against = attrs["against"]
        if against != "draft" and attrs.get(against) is None:
            raise serializers.ValidationError(
                {against: _("Name the %(kind)s to replay against.") % {"kind": against}}, code="required"
            )
        return attrs


# -- responses ------------------------------------------------------------------------------------------------


class WorkloadSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    # NB: the API field shadows Field.label only in the stubs: DRF's metaclass moves declared fields off the class.
    label = serializers.CharField()  # type: ignore[assignment]


class CoreFlowSerializer(serializers.Serializer):
    """An observed flow as the core and the CLI write it."""

    # NB: the API field shadows Field.source only in the stubs: DRF's metaclass moves declared fields off the class.
    source = WorkloadSerializer()  # type: ignore[assignment]
    host = serializers.CharField()
    port = serializers.IntegerField()
    protocol = serializers.ChoiceField(choices=["HTTP", "HTTP2", "TLS", "TCP"])
    count = serializers.IntegerField()
    firstSeen = serializers.CharField()  # noqa: N815 - API field name
    lastSeen = serializers.CharField()  # noqa: N815 - API field name
    outcomes = counts()
    clusters = counts()
    clusterKinds = counts()  # noqa: N815 - API field name
    reached = serializers.IntegerField()
    allowedToday = serializers.BooleanField()  # noqa: N815 - API field name


class FlowSerializer(CoreFlowSerializer):
    """A stored flow: its id (to select it for a proposal), scope and when an upload last saw it."""

    id = serializers.IntegerField()
    gateway = serializers.CharField()
    cluster = serializers.CharField(allow_null=True)
    lastIngested = serializers.DateTimeField()  # noqa: N815 - API field name


class FlowPageSerializer(serializers.Serializer):
    """One page of flows and how many match the filters."""

    count = serializers.IntegerField()
    offset = serializers.IntegerField()
    flows = FlowSerializer(many=True)


class RefusedLineSerializer(serializers.Serializer):
    input = serializers.CharField(help_text="The file name, or `text` for pasted lines.")
    line = serializers.IntegerField()
    code = serializers.CharField()
    reason = serializers.CharField()


class InputSerializer(serializers.Serializer):
    name = serializers.CharField()
    bytes = serializers.IntegerField()


class IngestSummarySerializer(serializers.Serializer):
    lines = serializers.IntegerField()
    entries = serializers.IntegerField()
    formats = counts()
    refused = counts()
    refusedTotal = serializers.IntegerField()  # noqa: N815 - API field name
    meshInternal = serializers.IntegerField()  # noqa: N815 - API field name
    flows = serializers.IntegerField()
    overLimit = serializers.IntegerField()  # noqa: N815 - API field name


class UploadSerializer(serializers.Serializer):
    """One upload: who, when, what was read; the first refused lines (never the log text)."""

    id = serializers.IntegerField()
    gateway = serializers.CharField()
    cluster = serializers.CharField(allow_null=True)
    uploadedBy = serializers.CharField(allow_null=True)  # noqa: N815 - API field name
    createdAt = serializers.DateTimeField()  # noqa: N815 - API field name
    inputs = InputSerializer(many=True)
    podSource = serializers.ChoiceField(choices=["document", "cluster", "namespace"])  # noqa: N815 - API field name
    summary = IngestSummarySerializer()
    refusedLines = RefusedLineSerializer(many=True)  # noqa: N815 - API field name
    refusedLinesListed = serializers.IntegerField()  # noqa: N815 - API field name


class IngestResultSerializer(UploadSerializer):
    """The stored upload and what it did to the stored flows."""

    created = serializers.IntegerField(help_text="Flows seen for the first time.")
    merged = serializers.IntegerField(help_text="Stored flows this upload added to.")
    pruned = serializers.IntegerField(help_text="Flows dropped by the retention period.")


class DeletedSerializer(serializers.Serializer):
    gateway = serializers.CharField()
    deleted = serializers.IntegerField(help_text="Flows deleted (the gateway's uploads went with them).")


class NoteSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SkippedSerializer(NoteSerializer):
    flow = CoreFlowSerializer()


class ProposalSerializer(serializers.Serializer):
    policy = serializers.JSONField(allow_null=True, help_text="The proposed ASMEgressTrafficPolicy (null: nothing).")
    covered = serializers.IntegerField()
    alreadyAllowed = serializers.IntegerField()  # noqa: N815 - API field name
    skipped = SkippedSerializer(many=True)
    notes = NoteSerializer(many=True)


class ChangeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    path = serializers.CharField(allow_blank=True)
    message = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class LineDiffSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    rows = serializers.ListField(child=serializers.JSONField())


class DiffSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    lines = LineDiffSerializer()


class ProposeResultSerializer(serializers.Serializer):
    """The proposal, its diff from the current draft, and the draft version (the saved one when saved)."""

    proposal = ProposalSerializer()
    diff = DiffSerializer()
    draftVersion = serializers.IntegerField(allow_null=True)  # noqa: N815 - API field name
    saved = serializers.BooleanField()
    policy = serializers.CharField(allow_null=True, help_text="The policy saved to (when saved).")


class ReplayedFlowSerializer(serializers.Serializer):
    flow = CoreFlowSerializer()
    url = serializers.CharField()
    verdict = serializers.ChoiceField(choices=["broken", "newly_allowed", "kept", "still_blocked"])
    status = serializers.JSONField(help_text="Simulated HTTP status, or `reset`.")
    upstream = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class ReplayResultSerializer(serializers.Serializer):
    """What the candidate does to every observed flow of the gateway: broken first, then newly allowed."""

    against = serializers.JSONField()
    replayed = serializers.IntegerField()
    counts = counts()
    flows = ReplayedFlowSerializer(many=True)
