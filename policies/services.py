"""Workflow verbs over the core and the database: create, edit, snapshot, import.

Views, API viewsets and management commands call these functions and nothing below them, so
every entry point enforces the same rules (validation before save, optimistic locking, one
policy per gateway) and writes the same history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from policies.core.document import dump_policy, parse_policy_text, policy_to_data
from policies.core.findings import Finding, has_errors
from policies.core.gateway import TranslationSettings
from policies.core.model import DEFAULT_POLICY_NAMESPACE, expected_policy_name
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.size import capped, count_entries
from policies.core.validation import check_parsed_policy, check_policy_data
from policies.models import DraftContributor, EgressGateway, EgressPolicy, PolicyDraft, PolicyRevision, content_hash

logger = logging.getLogger(__name__)

# NB: measured by bench/large_inputs.py: at 1,000 sources + destinations the slowest path (the live
# preview with every Istio object) answers in about 0.3 s; at 5,000 it took 3-5 s.
MAX_POLICY_ENTRIES = 1_000
# NB: the hardened YAML loader reads about 2 s per MiB here, so YAML text is bounded tighter than JSON.
MAX_YAML_BYTES = 256 * 1024
MAX_FINDINGS = 100  # NB: the most severe ones; the rest are counted, not listed.


class ServiceError(Exception):
    """A workflow verb refused; ``code`` is stable, ``findings`` explain validation refusals."""

    code = "EGRESS-E000"
    status = 400

    def __init__(self, message: str, findings: list[Finding] | None = None, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings or []
        self.path = path


class PolicyInvalid(ServiceError):
    """The document has validation errors; nothing was saved."""

    code = "EGRESS-E001"


class StaleDraft(ServiceError):
    """The draft changed since the caller read it; nothing was saved."""

    code = "EGRESS-E002"
    status = 412


class PolicyExists(ServiceError):
    """The gateway already has a policy (ASM allows one per gateway)."""

    code = "EGRESS-E003"
    status = 409


class GatewayUnknown(ServiceError):
    """The policy names a gateway the console does not know."""

    code = "EGRESS-E004"
    status = 400


class PolicyTooLarge(ServiceError):
    """The policy has more sources and destinations than the console answers for within a second."""

    code = "EGRESS-E005"
    status = 413


def require_answerable(*documents: Any, path: str = "spec.egressRules") -> None:
    """Raise ``PolicyTooLarge`` when ``documents`` (a policy, or all those of one request) have more than
    ``MAX_POLICY_ENTRIES`` sources and destinations; ``path`` is where the refusal points."""
    count = sum(map(count_entries, documents))
    if count > MAX_POLICY_ENTRIES:
        raise PolicyTooLarge(
            _(
                "The policy has %(count)d sources and destinations; the console and API accept at most %(limit)d "
                "in one policy, so that every answer comes within a second. Split it, or check it offline "
                "with 'egress validate'."
            )
            % {"count": count, "limit": MAX_POLICY_ENTRIES},
            path=path,
        )


def require_readable_text(raw: bytes | str) -> None:
    """Raise ``PolicyTooLarge`` when YAML/JSON text is over ``MAX_YAML_BYTES``."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_YAML_BYTES:
        raise PolicyTooLarge(yaml_too_large_message(size))


def yaml_too_large_message(size: int) -> str:
    """Why YAML text of ``size`` bytes is refused, and what to do instead."""
    return _(
        "The YAML is %(size)d bytes; the console and API read at most %(limit)d bytes of YAML, so that every "
        "answer comes within a second. Send it as JSON, split it, or check it offline with 'egress validate'."
    ) % {"size": size, "limit": MAX_YAML_BYTES}


@dataclass
class CheckedDocument:
    """A validated policy document: canonical data, the model, and every finding."""

    data: dict[str, Any] | None
    policy: PolicyModel | None
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not has_errors(self.findings)


def translation_settings() -> TranslationSettings:
    """The console's translation settings (defaults until a settings page exists)."""
    return TranslationSettings()


def check_document(data: Any, gateway: EgressGateway | None = None) -> CheckedDocument:
    """Validate plain CR data against a gateway (or the one the document names); ``PolicyTooLarge`` if too big."""
    require_answerable(data)
    gateway = gateway or _gateway_named_in(data)
    parsed = check_policy_data(data, gateway.describe() if gateway else None, translation_settings())
    canonical = policy_to_data(parsed.policy) if parsed.policy else None
    return CheckedDocument(canonical, parsed.policy, parsed.findings)


def check_text(raw: bytes | str, gateway: EgressGateway | None = None) -> tuple[CheckedDocument, Any]:
    """Validate YAML/JSON text; returns the result and the parse (for line numbers). ``PolicyTooLarge`` if too big."""
    require_readable_text(raw)
    parsed = parse_policy_text(raw)
    if parsed.document is not None:
        require_answerable(parsed.document.data)
    if gateway is None and parsed.document is not None:
        gateway = _gateway_named_in(parsed.document.data)
    parsed = check_parsed_policy(parsed, gateway.describe() if gateway else None, translation_settings())
    canonical = policy_to_data(parsed.policy) if parsed.policy else None
    return CheckedDocument(canonical, parsed.policy, parsed.findings), parsed


def _gateway_named_in(data: Any) -> EgressGateway | None:
    try:
        name = data["spec"]["byEgressGateway"]["name"]
    except (KeyError, TypeError):
        return None
    return EgressGateway.objects.prefetch_related("ports").filter(name=name).first() if isinstance(name, str) else None


def _require_valid(checked: CheckedDocument) -> dict[str, Any]:
    if not checked.ok or checked.data is None:
        errors = [f for f in checked.findings if f.severity == "error"]
        message = _("The policy has %(count)d error(s); nothing was saved.") % {"count": len(errors)}
        raise PolicyInvalid(message, capped(checked.findings, MAX_FINDINGS))
    return checked.data


def create_policy(data: Any, *, user: Any, message: str = "") -> EgressPolicy:
    """Create a gateway's policy from a valid CR: the policy, its draft and revision 1."""
    gateway = _gateway_named_in(data)
    if gateway is None:
        raise GatewayUnknown(
            _("The policy must name a known egress gateway in spec.byEgressGateway.name."),
            path="spec.byEgressGateway.name",
        )
    document = _require_valid(check_document(data, gateway))
    with transaction.atomic():
        if EgressPolicy.objects.select_for_update().filter(gateway=gateway).exists():
            raise PolicyExists(
                _("Gateway %(gateway)s already has a policy; edit it instead.") % {"gateway": gateway.name},
                path="spec.byEgressGateway.name",
            )
        policy = EgressPolicy.objects.create(
            gateway=gateway,
            name=document["metadata"]["name"],
            namespace=document["metadata"].get("namespace", DEFAULT_POLICY_NAMESPACE),
            created_by=_user_or_none(user),
        )
        revision = _snapshot(policy, document, user, message or _("Created"))
        PolicyDraft.objects.create(
            policy=policy, document=document, base_revision=revision, updated_by=_user_or_none(user)
        )
        record_contributor(policy, user)
    return policy


def new_policy_document(gateway: EgressGateway) -> dict[str, Any]:
    """A starting CR for a gateway with no policy: one rule, one HTTP target, to be edited."""
    return {
        "apiVersion": "istio.alibabacloud.com/v1",
        "kind": "ASMEgressTrafficPolicy",
        "metadata": {"name": expected_policy_name(gateway.name), "namespace": DEFAULT_POLICY_NAMESPACE},
        "spec": {"byEgressGateway": {"name": gateway.name}, "egressRules": []},
    }


def save_draft(policy: EgressPolicy, data: Any, *, expected_version: int, user: Any) -> PolicyDraft:
    """Replace the working draft if it is still at ``expected_version`` and ``data`` is valid.

    Saving the document the draft already holds changes nothing, not even the version.
    """
    document = _require_valid(check_document(data, policy.gateway))
    _require_same_identity(policy, document)
    with transaction.atomic():
        draft = PolicyDraft.objects.select_for_update().get(policy=policy)
        if draft.version != expected_version:
            raise StaleDraft(
                _(
                    "The draft was changed by someone else (now version %(now)d, you edited version %(yours)d). "
                    "Reload to see their change; nothing was saved."
                )
                % {"now": draft.version, "yours": expected_version}
            )
        if draft.document == document:
            # NB: an unchanged save keeps the version, so other clients' ETags stay current.
            return draft
        draft.document = document
        draft.version += 1
        draft.updated_by = _user_or_none(user)
        draft.save()
        record_contributor(policy, user)
    return draft


def record_contributor(policy: EgressPolicy, user: Any) -> None:
    """Remember that ``user`` edited the policy's draft: nobody approves a revision they edited."""
    if getattr(user, "is_authenticated", False):
        DraftContributor.objects.update_or_create(policy=policy, user=user, defaults={"last_edit_at": timezone.now()})


def _require_same_identity(policy: EgressPolicy, document: dict[str, Any]) -> None:
    if (
        document["metadata"]["name"] != policy.name
        or document["spec"]["byEgressGateway"]["name"] != policy.gateway.name
    ):
        raise PolicyInvalid(
            _("A draft cannot rename the policy or move it to another gateway (expected %(name)s on %(gateway)s).")
            % {"name": policy.name, "gateway": policy.gateway.name},
            path="metadata.name",
        )


def delete_policy(policy: EgressPolicy, *, user: Any, expected_version: int | None = None) -> None:
    """Delete a policy with its draft and revisions, atomically.

    With ``expected_version``, the draft is locked first and a draft that moved on since the
    caller read it is refused (StaleDraft), as an edit would be; the gateway stays, now free.
    """
    with transaction.atomic():
        draft = PolicyDraft.objects.select_for_update().filter(policy=policy).first()
        if expected_version is not None and draft is not None and draft.version != expected_version:
            raise StaleDraft(
                _("The draft is now at version %(now)d, not %(yours)d; nothing was deleted.")
                % {"now": draft.version, "yours": expected_version}
            )
        policy.delete()
    logger.info("policy %s deleted by %s", policy, getattr(user, "username", None) or "anonymous")


def commit_revision(policy: EgressPolicy, *, user: Any, message: str) -> PolicyRevision:
    """Snapshot the current draft as a new revision (or return the latest if unchanged)."""
    with transaction.atomic():
        draft = PolicyDraft.objects.select_for_update().get(policy=policy)
        latest = policy.revisions.order_by("-number").first()
        canonical = dump_policy(PolicyModel.model_validate(draft.document))
        if latest is not None and latest.content_hash == content_hash(canonical):
            return latest
        revision = _snapshot(policy, draft.document, user, message)
        draft.base_revision = revision
        draft.save(update_fields=["base_revision"])
    return revision


def save_revision(
    policy: EgressPolicy, data: Any, *, expected_version: int, user: Any, message: str
) -> tuple[PolicyDraft, PolicyRevision]:
    """Save the editor's document as the draft, then snapshot it as a revision, atomically."""
    with transaction.atomic():
        draft = save_draft(policy, data, expected_version=expected_version, user=user)
        revision = commit_revision(policy, user=user, message=message)
    return draft, revision


def _snapshot(policy: EgressPolicy, document: dict[str, Any], user: Any, message: str) -> PolicyRevision:
    latest = policy.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    canonical = dump_policy(PolicyModel.model_validate(document))
    return PolicyRevision.objects.create(
        policy=policy,
        number=latest + 1,
        document=document,
        content_hash=content_hash(canonical),
        author=_user_or_none(user),
        message=message,
    )


def import_policy_text(raw: bytes | str, *, user: Any, message: str = "") -> tuple[EgressPolicy, bool]:
    """Store YAML/JSON text as a policy draft: new policy, or a new draft version of the existing one.

    Returns the policy and whether it was created.
    """
    checked, _parsed = check_text(raw)
    document = _require_valid(checked)
    gateway = _gateway_named_in(document)
    if gateway is None:
        raise GatewayUnknown(
            _("The policy must name a known egress gateway in spec.byEgressGateway.name."),
            path="spec.byEgressGateway.name",
        )
    existing = EgressPolicy.objects.filter(gateway=gateway).select_related("draft", "gateway").first()
    if existing is None:
        return create_policy(document, user=user, message=message or _("Imported")), True
    save_draft(existing, document, expected_version=existing.draft.version, user=user)
    return existing, False


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None
