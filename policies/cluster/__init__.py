"""The cluster layer: one interface to Kubernetes, its real and fake implementations, and the verbs on top.

- ``interface``: the ``ClusterApi`` Protocol and typed values (``ResourceType``, ``ObjectRef``).
- ``errors``: our exceptions with stable codes; nothing from the client library escapes.
- ``transport``: the HTTP choke point (timeouts, bounded retries, logging, error mapping).
- ``kubernetes_client`` / ``fake``: the real implementation and the in-memory one.
- ``discovery``: which Istio/ASM versions a cluster serves (cached per cluster).
- ``targets``: the desired objects for a policy (``asm`` or ``istio``).
- ``diff`` / ``apply`` / ``drift`` / ``delete``: the verbs.
"""
