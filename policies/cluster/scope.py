"""Which live objects belong to one policy: the labels we stamp and the selector that finds them.

ownerReferences cannot cross namespaces and a policy's objects live in two (the policy
namespace and the gateway namespace), so the console finds its objects by label (spec §4.1,
§4.9). The label scheme itself is the core's (``policies.core.expansion``); this is the cluster
side's handle on it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from policies.cluster.interface import Object
from policies.core.expansion import managed_label_selector, managed_labels


@dataclass(frozen=True)
class PolicyScope:
    """One policy's identity on a cluster: ``metadata.name`` and ``metadata.namespace``."""

    name: str
    namespace: str

    @property
    def label_selector(self) -> str:
        """Selects every object generated for this policy, in any namespace."""
        return managed_label_selector(self.name, self.namespace)

    @property
    def labels(self) -> dict[str, str]:
        """The labels that put an object in this scope."""
        return managed_labels(self.name, self.namespace)

    def stamp(self, manifest: Object) -> Object:
        """A copy of ``manifest`` carrying this scope's labels (for objects the core did not label)."""
        stamped = copy.deepcopy(manifest)
        metadata = stamped.setdefault("metadata", {})
        metadata["labels"] = {**(metadata.get("labels") or {}), **self.labels}
        return stamped
