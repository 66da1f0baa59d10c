"""What a kubeconfig file offers, read without touching its credentials.

Registering a cluster stores only a kubeconfig path and a context name, so the console checks
them when they are saved: the file exists and is readable, and the context is one of its
contexts. Only context names are read back; users, tokens and keys are never returned, logged or
put in a message. The file is read with the core's hardened YAML reader (a kubeconfig is YAML or
JSON), so a hostile or huge file gives a clear error rather than a stalled request.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from policies.cluster.kubernetes_client import ConfigurationError
from policies.core.yamlio import MAX_INPUT_BYTES, YamlLoadError, load_one


class KubeconfigNotFound(ConfigurationError):
    """The kubeconfig path names no readable file on the console's host."""

    code = "CLUSTER-E011"


class ContextNotFound(ConfigurationError):
    """The kubeconfig has no context of that name."""

    code = "CLUSTER-E012"


@dataclass(frozen=True)
class KubeconfigContexts:
    """The context names of a kubeconfig and its current context ("" when unset)."""

    names: tuple[str, ...]
    current: str

    def require(self, context: str, path: str) -> str:
        """``context`` (or the current one when empty) if the file has it; ContextNotFound otherwise."""
        wanted = context or self.current
        if not wanted:
            raise ContextNotFound(f"The kubeconfig {path} sets no current-context; name one of: {self._listed()}.")
        if wanted not in self.names:
            raise ContextNotFound(f"The kubeconfig {path} has no context {wanted[:253]!r}; it has: {self._listed()}.")
        return wanted

    def _listed(self) -> str:
        return ", ".join(self.names) or "none"


def read_contexts(path: str, allowed_dirs: Sequence[str] = ()) -> KubeconfigContexts:
    """The contexts of the kubeconfig at ``path``.

    Args:
        path: absolute path of the file on the console's host.
        allowed_dirs: when not empty, the file (symbolic links resolved) must lie under one of them.

    Raises:
        KubeconfigNotFound: no such file, not a file, unreadable, over 1 MiB, or outside ``allowed_dirs``.
        ConfigurationError: the file is not a kubeconfig (not YAML, no contexts list).
    """
    _require_allowed(path, allowed_dirs)
    raw = _read(path)
    try:
        data = load_one(raw).data
    except YamlLoadError as exc:
        raise ConfigurationError(f"The kubeconfig {path} is not valid YAML: {exc.message}") from exc
    contexts = data.get("contexts") or []
    if not isinstance(contexts, list):
        raise ConfigurationError(f"The kubeconfig {path} has no list of contexts.")
    names = tuple(str(c["name"]) for c in contexts if isinstance(c, dict) and c.get("name"))
    return KubeconfigContexts(names, str(data.get("current-context") or ""))


def _require_allowed(path: str, allowed_dirs: Sequence[str]) -> None:
    """Keep registration from reading arbitrary files of the host when the operator named where kubeconfigs live."""
    if not allowed_dirs:
        return
    try:
        real = os.path.realpath(path)
    except ValueError as exc:  # NB: a NUL in the path
        raise KubeconfigNotFound(f"Cannot read {path!r}: ValueError.") from exc
    roots = [os.path.realpath(d) for d in allowed_dirs]
    if not any(os.path.commonpath([real, root]) == root for root in roots):
        raise KubeconfigNotFound(
            f"{path} is outside the kubeconfig directories the console allows: {', '.join(roots)}."
        )


def _read(path: str) -> bytes:
    if not os.path.isabs(path):
        raise KubeconfigNotFound(f"Give the kubeconfig as an absolute path on the console's host, not {path!r}.")
    try:
        # NB: a regular file only: a FIFO or a device would block or never end the read.
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise KubeconfigNotFound(f"Cannot read {path}: not a regular file.")
        with open(path, "rb") as file:
            raw = file.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError as exc:
        raise KubeconfigNotFound(f"There is no file {path} on the console's host.") from exc
    except (OSError, ValueError) as exc:  # NB: no permission, a NUL in the path, ...; the reason, never the content
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise KubeconfigNotFound(f"Cannot read {path!r}: {reason}.") from exc
    if len(raw) > MAX_INPUT_BYTES:
        raise KubeconfigNotFound(f"The kubeconfig {path} is over {MAX_INPUT_BYTES} bytes.")
    return raw
