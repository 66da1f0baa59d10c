"""Real kube-apiserver + etcd test control plane for integration tests (see README.md).

``from testenv import ControlPlane`` works; the import is lazy so that
``python -m testenv.controlplane`` does not import the module twice.
"""

__all__ = ["ControlPlane", "ControlPlaneError"]


def __getattr__(name):
    if name in __all__:
        from testenv import controlplane

        return getattr(controlplane, name)
    raise AttributeError(name)
