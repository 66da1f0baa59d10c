"""``egress render FILE --target istio``: the policy's Istio expansion as multi-document YAML.

The renderer plugs into ``policies.cli.render.RENDERERS``. It adds the translation flags that
only the Istio target reads (gateway namespace, Istio API version, httpsUpgrade style) next to
the shared ``--port-default``, and prints the objects in apply order, ready for
``kubectl apply -f -``.
"""

from __future__ import annotations

import argparse

from policies.cli.base import add_gateway_arguments, add_gateway_namespace_argument, translation_settings
from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.gcpause import paused_gc
from policies.core.model import EgressPolicy
from policies.core.yamlio import dump_yaml_all


def add_istio_arguments(parser: argparse.ArgumentParser) -> None:
    """``--gateway-namespace``, ``--api-version`` and ``--upgrade-style`` (spec §4.1 settings)."""
    add_gateway_namespace_argument(parser)
    parser.add_argument(
        "--api-version",
        choices=("v1", "v1beta1"),
        default="v1",
        help="Istio API version of the rendered objects; v1beta1 for Istio older than 1.22 (default: v1)",
    )
    parser.add_argument(
        "--upgrade-style",
        choices=("targetPort", "gatewayPort"),
        default="targetPort",
        help="how httpsUpgrade is expressed: targetPort (default) or gatewayPort (ASM compatibility; "
        "declares the upgrade port to the client namespaces, spec §4.6)",
    )


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Every offline translation flag: the gateway's (shared with validate) and the Istio-only ones."""
    add_gateway_arguments(parser)
    add_istio_arguments(parser)


def istio_settings(args: argparse.Namespace) -> TranslationSettings:
    """The shared settings flags plus the Istio-only ones."""
    return translation_settings(args).model_copy(
        update={
            "gateway_namespace": args.gateway_namespace,
            "api_version": args.api_version,
            "upgrade_style": args.upgrade_style,
        }
    )


def render_istio(policy: EgressPolicy, gateway: GatewayDescription | None, settings: TranslationSettings) -> str:
    """The expansion of a valid policy as multi-document YAML, in apply order.

    Raises:
        ExpansionError: the policy cannot be expanded (the caller reports it as a finding).
    """
    objects = expand_policy(policy, gateway, settings)
    with paused_gc():  # NB: the dump of a large expansion stays linear (see gcpause).
        return dump_yaml_all(objects)
