"""Kubernetes and DNS name syntax used by the validation rules.

The regular expressions follow the definitions in Kubernetes' ``apimachinery`` validation
(DNS-1123 label and subdomain, qualified label keys and label values), so that a policy the
console accepts is one the API server and Istio accept too.
"""

from __future__ import annotations

import ipaddress
import re

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
PORT_NAME_MAX = 15
ANNOTATIONS_MAX_BYTES = 256 * 1024

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_PORT_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LETTER = re.compile(r"[a-z]")
WILDCARD_PREFIX = "*."
CLUSTER_LOCAL_SUFFIX = ".svc.cluster.local"


def is_dns_label(value: str) -> bool:
    """A DNS-1123 label: lower-case alphanumerics and '-', 1-63 characters, alphanumeric at both ends."""
    return len(value) <= DNS_LABEL_MAX and _DNS_LABEL.fullmatch(value) is not None


def is_dns_subdomain(value: str) -> bool:
    """A DNS-1123 subdomain: dot-separated DNS labels, at most 253 characters."""
    return 0 < len(value) <= DNS_SUBDOMAIN_MAX and all(is_dns_label(part) for part in value.split("."))


def is_label_key(key: str) -> bool:
    """A Kubernetes label key: ``[prefix/]name``, prefix a DNS subdomain, name a 63-character qualified name."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return False
    return len(name) <= LABEL_VALUE_MAX and _QUALIFIED_NAME.fullmatch(name) is not None


def is_label_value(value: str) -> bool:
    """A Kubernetes label value: empty, or up to 63 alphanumerics with '-', '_', '.' inside."""
    return len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(value) is not None


def is_port_name(name: str) -> bool:
    """An IANA_SVC_NAME (RFC 6335): 1-15 lower-case alphanumerics and '-', a letter, no '--', no '-' at either end."""
    return (
        len(name) <= PORT_NAME_MAX
        and _PORT_NAME.fullmatch(name) is not None
        and "--" not in name
        and _LETTER.search(name) is not None
    )


def annotations_size(annotations: dict[str, str]) -> int:
    """Bytes Kubernetes counts against the 256 KiB annotation limit: every key and value."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in annotations.items())


def is_ip_literal(host: str) -> bool:
    """True for an IPv4/IPv6 address or CIDR block, which ``hosts`` must not contain."""
    try:
        ipaddress.ip_network(host, strict=False)
    except ValueError:
        return False
    return True


def is_fqdn(host: str) -> bool:
    """A lower-case fully-qualified domain name: at least two DNS labels, no trailing dot."""
    return "." in host and is_dns_subdomain(host)


def without_wildcard(host: str) -> str:
    """``*.example.com`` → ``example.com``; other hosts unchanged."""
    return host[len(WILDCARD_PREFIX) :] if host.startswith(WILDCARD_PREFIX) else host
