"""Findings that explain what Istio's own analyzers report on the expansion (``istioctl analyze``).

The expansion is checked with Istio's code (tests/oracle): it has no analyzer errors, and each
analyzer warning it can raise is explained here, at the field that causes it, so the console
shows it before anything is applied.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.core.findings import Finding
from policies.core.i18n import _
from policies.core.validation_context import ValidationContext, info, warning


def check_upgrade_verification(ctx: ValidationContext) -> Iterator[Finding]:
    """V20a (IST0129): an upgraded entry's TLS is originated without checking the server's certificate."""
    if ctx.settings.upgrade_verifies_server:
        return
    for target in ctx.targets:
        upgrade = target.to.httpsUpgrade
        if upgrade is None or upgrade.enabled is not True or not target.to.hosts:
            continue
        yield warning(
            "V20a",
            f"{target.path}.httpsUpgrade",
            _(
                "The gateway upgrades this traffic to TLS for {host}:{port} but does not verify the external "
                "server's certificate (istioctl IST0129: DestinationRule TLS SIMPLE without caCertificates), so "
                "anyone who can answer for {host} on the way receives the requests. Give the gateway a CA to "
                "verify against: a Secret in the gateway namespace (credentialName) or a CA bundle in its pods "
                "(caCertificates)."
            ),
            host=target.to.hosts[0],
            port=upgrade.port,
        )


def check_tcp_catch_all(ctx: ValidationContext) -> Iterator[Finding]:
    """V10d (IST0134): a TCP entry's ServiceEntry has no addresses, so its chain takes the whole port."""
    for target in ctx.targets:
        if target.protocol != "TCP" or target.to.port is None or not target.to.hosts:
            continue
        namespaces = sorted({s.namespace for s in target.rule.from_ or [] if s.namespace})
        yield info(
            "V10d",
            f"{target.path}.port",
            _(
                "TCP carries no host name, and this entry's ServiceEntry has no addresses (istioctl IST0134), so "
                "the sidecars of {namespaces} send every TCP connection on port {port}, whatever its destination, "
                "along this entry: selected sources reach {host} through the gateway, other workloads there are "
                "reset, and TLS or HTTP entries on port {port} still match by host first."
            ),
            namespaces=", ".join(namespaces),
            port=target.to.port.number,
            host=target.to.hosts[0],
        )
