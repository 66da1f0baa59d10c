"""What the simulator is asked: a workload (namespace + labels) sending one request to a URL.

Requests come from the command line, the console and the API as text, so parsing lives here
with stable error codes: a bad URL or source must say exactly what is wrong instead of being
simulated as something it is not. Hosts are matched in the form Istio sees them: an IPv6
literal is kept in brackets (``[2001:db8::1]``, as in the Host header and URL), and a Unicode
host name becomes its ASCII (punycode) form, since ServiceEntry hosts are ASCII.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from policies.core.i18n import _

DEFAULT_PORTS = {"http": 80, "https": 443}
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_METHOD = re.compile(r"^[A-Z]{1,20}$")


class SimulationInputError(ValueError):
    """A request, source or Istio object the simulator cannot take, with a stable code."""

    def __init__(self, code: str, template: str, **params: Any) -> None:
        self.code = code
        self.template = template
        self.params = params
        super().__init__(f"{code}: {template.format(**params)}")

    @property
    def message(self) -> str:
        """The error in English, without the code."""
        return self.template.format(**self.params)


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """The parts of a request URL that matter to the mesh."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def is_tls(self) -> bool:
        """``https://``: the app itself speaks TLS with SNI = host."""
        return self.scheme == "https"


@dataclass(frozen=True)
class Request:
    """One request from a workload: ``Request("mytest", {"app": "sleep-a"}, "http://httpbin.org/anything")``."""

    source_namespace: str
    source_labels: dict[str, str] = field(default_factory=dict)
    url: str = ""
    method: str = "GET"
    service_account: str = "default"


def parse_url(url: str) -> ParsedUrl:
    """Split an ``http://`` or ``https://`` URL; default ports 80/443, path ``/``, fragment dropped.

    Raises:
        SimulationInputError: unsupported scheme, missing or malformed host, bad port.
    """
    scheme, separator, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        raise SimulationInputError(
            "EGRESS-SIM02",
            _("Unsupported URL scheme '{scheme}' in '{url}': use http:// or https://."),
            scheme=scheme if separator else "(none)",
            url=url,
        )
    rest = rest.partition("#")[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, target = rest[:cut].rpartition("@")[2], rest[cut:]
    if authority.startswith("["):
        literal, bracket, after = authority[1:].partition("]")
        host, colon, port_text = _ipv6_host(literal, url) if bracket else "", after[:1], after[1:]
        if after and colon != ":":
            host = ""
    else:
        host, colon, port_text = authority.rpartition(":") if ":" in authority else (authority, "", "")
        host = _ascii_host(host.lower().rstrip("."))
    if not host or not (host.startswith("[") or _HOST.match(host)) or host.startswith("*"):
        raise SimulationInputError("EGRESS-SIM03", _("URL '{url}' has no valid host name."), url=url)
    port = _port(port_text, url) if colon else DEFAULT_PORTS[scheme]
    path = target if target.startswith("/") else f"/{target}"
    return ParsedUrl(scheme, host, port, path)


def _ipv6_host(literal: str, url: str) -> str:
    """``[2001:DB8:0::1]`` → ``[2001:db8::1]``: the compressed address, bracketed as in a URL."""
    try:
        return f"[{ipaddress.IPv6Address(literal).compressed}]"
    except ValueError:
        raise SimulationInputError("EGRESS-SIM03", _("URL '{url}' has no valid host name."), url=url) from None


def _ascii_host(host: str) -> str:
    """A Unicode (IDN) host name in its punycode form, e.g. ``bücher.de`` → ``xn--bcher-kva.de``.

    An unencodable name becomes ``""`` so the caller refuses it like any other bad host.
    """
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""


def _port(text: str, url: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise SimulationInputError(
            "EGRESS-SIM01", _("Cannot read URL '{url}': port '{port}' is not 1-65535."), url=url, port=text
        )
    if int(text) == 0:
        raise SimulationInputError("EGRESS-SIM04", _("URL '{url}' has port 0; use 1-65535."), url=url)
    return int(text)


def parse_method(method: str) -> str:
    """An upper-case HTTP method token such as ``GET`` or ``POST``."""
    value = method.strip().upper()
    if not _METHOD.match(value):
        raise SimulationInputError("EGRESS-SIM05", _("'{method}' is not an HTTP method."), method=method)
    return value


def parse_source(text: str) -> tuple[str, dict[str, str]]:
    """``"mytest:app=sleep-a,version=v1"`` → ``("mytest", {"app": "sleep-a", "version": "v1"})``.

    Raises:
        SimulationInputError: empty or invalid namespace, a label without ``=``, or a key given twice.
    """
    namespace, _sep, label_text = text.strip().partition(":")
    if not _NAMESPACE.match(namespace):
        raise SimulationInputError(
            "EGRESS-SIM06",
            _("Source '{source}': '{namespace}' is not a namespace name."),
            source=text,
            namespace=namespace,
        )
    labels: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in label_text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SimulationInputError(
                "EGRESS-SIM07", _("Source '{source}': label '{pair}' must be key=value."), source=text, pair=pair
            )
        if key.strip() in labels:  # NB: a pod has one value per key; last-wins would hide a typo.
            raise SimulationInputError(
                "EGRESS-SIM09",
                _("Source '{source}': label key '{key}' appears twice; give each key once."),
                source=text,
                key=key.strip(),
            )
        labels[key.strip()] = value.strip()
    return namespace, labels


def workload_name(namespace: str, labels: dict[str, str]) -> str:
    """How hops name a workload: ``mytest/sleep-a`` (its ``app`` label) or ``mytest/{k=v,...}``."""
    if "app" in labels:
        return f"{namespace}/{labels['app']}"
    if labels:
        return namespace + "/{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
    return f"{namespace}/*"
