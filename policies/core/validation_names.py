"""Rules about fields the Kubernetes API server checks itself (V29-V32).

A policy the console accepts must be one the cluster accepts: metadata labels and annotation
keys, the optional rule name and each to-entry's port name follow Kubernetes' own syntax
(apimachinery's qualified names and label values, DNS-1123 labels, IANA_SVC_NAME). Anything
else, markup included, is refused here with a code and the field's path instead of failing at
apply time.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.core.findings import Finding, json_path
from policies.core.i18n import _
from policies.core.validation_context import ValidationContext, error
from policies.core.validation_syntax import (
    ANNOTATIONS_MAX_BYTES,
    PORT_NAME_MAX,
    annotations_size,
    is_dns_label,
    is_label_key,
    is_label_value,
    is_port_name,
)

_KEY_TEMPLATE = _(
    "Label key '{key}' is not a valid Kubernetes label key; use [prefix/]name with "
    "a name of 1-63 letters, digits, '-', '_' or '.', starting and ending with a "
    "letter or digit."
)
_VALUE_TEMPLATE = _(
    "Label value '{value}' of '{key}' is not a valid Kubernetes label value; use at "
    "most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
    "digit."
)


def label_key_findings(rule_id: str, path: str, key: str) -> Iterator[Finding]:
    """An error when ``key`` is not a Kubernetes label key (a qualified name with an optional DNS prefix)."""
    if not is_label_key(key):
        yield error(rule_id, path, _KEY_TEMPLATE, key=key)


def label_value_findings(rule_id: str, path: str, key: str, value: str) -> Iterator[Finding]:
    """An error when ``value`` is not a Kubernetes label value."""
    if not is_label_value(value):
        yield error(rule_id, path, _VALUE_TEMPLATE, key=key, value=value)


def check_metadata_labels(ctx: ValidationContext) -> Iterator[Finding]:
    """V29: ``metadata.labels`` keys and values follow Kubernetes label syntax."""
    labels = (ctx.policy.metadata.labels if ctx.policy.metadata else None) or {}
    for key, value in labels.items():
        path = json_path(("metadata", "labels", key))
        yield from label_key_findings("V29", path, key)
        yield from label_value_findings("V29", path, key, value)


def check_metadata_annotations(ctx: ValidationContext) -> Iterator[Finding]:
    """V30: annotation keys are qualified names and all annotations fit Kubernetes' 256 KiB."""
    annotations = (ctx.policy.metadata.annotations if ctx.policy.metadata else None) or {}
    for key in annotations:
        path = json_path(("metadata", "annotations", key))
        if not is_label_key(key):
            yield error(
                "V30",
                path,
                _(
                    "Annotation key '{key}' is not a valid Kubernetes annotation key; use [prefix/]name "
                    "with a name of 1-63 letters, digits, '-', '_' or '.', starting and ending with a "
                    "letter or digit."
                ),
                key=key,
            )
    size = annotations_size(annotations)
    if size > ANNOTATIONS_MAX_BYTES:
        yield error(
            "V30",
            "metadata.annotations",
            _("The annotations total {size} bytes; Kubernetes allows at most {limit}. Shorten or remove some."),
            size=size,
            limit=ANNOTATIONS_MAX_BYTES,
        )


def check_rule_names(ctx: ValidationContext) -> Iterator[Finding]:
    """V31: an egress rule's optional name is a DNS-1123 label."""
    rules = (ctx.policy.spec.egressRules if ctx.policy.spec else None) or []
    for r, rule in enumerate(rules):
        if rule.name is not None and not is_dns_label(rule.name):
            yield error(
                "V31",
                f"spec.egressRules[{r}].name",
                _(
                    "Rule name '{value}' is not a DNS-1123 label; use 1-63 lower-case letters, digits "
                    "and '-', starting and ending with a letter or digit, or leave it out."
                ),
                value=rule.name,
            )


def check_port_name_syntax(ctx: ValidationContext) -> Iterator[Finding]:
    """V32: ``port.name`` is an IANA service name, as Kubernetes requires of port names."""
    for target in ctx.targets:
        port = target.to.port
        if port is not None and port.name and not is_port_name(port.name):
            yield error(
                "V32",
                f"{target.path}.port.name",
                _(
                    "Port name '{value}' is not a valid port name; use at most {limit} lower-case "
                    "letters, digits and '-', with at least one letter, no '--' and no '-' at either "
                    "end, e.g. 'http' or 'https-api'."
                ),
                value=port.name,
                limit=PORT_NAME_MAX,
            )
