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
from dataclasses import dataclass, field
from typing import Any

from policies.cluster.kubernetes_client import ConfigurationError
from policies.core.yamlio import MAX_INPUT_BYTES, YamlLoadError, load_one


class KubeconfigNotFound(ConfigurationError):
    """The kubeconfig path names no readable file on the console's host."""

    code = "CLUSTER-E011"


class ContextNotFound(ConfigurationError):
    """The kubeconfig has no context of that name."""

    code = "CLUSTER-E012"


class CredentialProgramRefused(ConfigurationError):
    """The context's user gets its credentials by running a program (an exec plugin or an auth provider's command)."""

    code = "CLUSTER-E014"


@dataclass(frozen=True)
class KubeconfigContexts:
    """The context names of a kubeconfig, its current context ("" when unset), and for each context whose user
    gets its credentials by running a program, that program's name (``users[].user.exec.command``, or an
    auth provider's ``cmd-path``)."""

    names: tuple[str, ...]
    current: str
    programs: dict[str, str] = field(default_factory=dict)

    def require(self, context: str, path: str, *, allow_programs: bool = True) -> str:
        """``context`` (or the current one when empty) if the file has it and may be used.

        Raises:
            ContextNotFound: no such context (or none named and no current one).
            CredentialProgramRefused: its user runs a program for credentials and ``allow_programs`` is False.
        """
        wanted = context or self.current
        if not wanted:
            raise ContextNotFound(f"The kubeconfig {path} sets no current-context; name one of: {self._listed()}.")
        if wanted not in self.names:
            raise ContextNotFound(f"The kubeconfig {path} has no context {wanted[:253]!r}; it has: {self._listed()}.")
        program = self.programs.get(wanted)
        if program and not allow_programs:
            raise CredentialProgramRefused(
                f"Context {wanted!r} of {path} gets its credentials by running {program[:200]!r}; the console runs no "
                "program named in a kubeconfig unless EGRESS_KUBECONFIG_ALLOW_EXEC is set. Use a token or a client "
                "certificate (e.g. a ServiceAccount's), or the in-cluster service account."
            )
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
    return KubeconfigContexts(names, str(data.get("current-context") or ""), _credential_programs(data, contexts))


def _credential_programs(data: dict[str, Any], contexts: list[Any]) -> dict[str, str]:
    """Context name → the program its user runs to get credentials (only the program's name is read)."""
    users = data.get("users")
    programs = {}
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and isinstance(user.get("user"), dict):
            program = _program_of(user["user"])
            if program:
                programs[str(user.get("name"))] = program
    found = {}
    for context in contexts:
        body = context.get("context") if isinstance(context, dict) else None
        if isinstance(body, dict) and str(body.get("user")) in programs:
            found[str(context.get("name"))] = programs[str(body.get("user"))]
    return found


def _program_of(user: dict[str, Any]) -> str:
    exec_plugin, provider = user.get("exec"), user.get("auth-provider")
    if isinstance(exec_plugin, dict):
        return str(exec_plugin.get("command") or "an exec plugin")
    config = provider.get("config") if isinstance(provider, dict) else None
    if isinstance(config, dict) and config.get("cmd-path"):
        return str(config["cmd-path"])
    return ""


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
