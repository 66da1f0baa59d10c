"""A real kube-apiserver + etcd control plane for integration tests.

Pure Python (stdlib + PyYAML). The binaries are built from the pinned wrapper Go module beside
this file by ``testenv/build.sh`` into ``${EGRESS_TESTENV_CACHE:-~/.cache/egress-console/testenv}
/<k8s-version>/bin`` (built on first use if missing; ~15-25 min once, cached after that).

Library use::

    from testenv.controlplane import ControlPlane

    with ControlPlane() as cp:                 # Istio CRDs installed by default
        cp.kubeconfig_path, cp.server_url, cp.admin_token, cp.unprivileged_token
        status, body = cp.request("GET", "/api/v1/namespaces")
        cp.restart_apiserver()                 # etcd (and so all data) survives

CLI use (the processes outlive the command)::

    python -m testenv.controlplane start --kubeconfig .testenv/kubeconfig [--crd FILE ...]
    python -m testenv.controlplane status
    python -m testenv.controlplane stop

Everything binds to 127.0.0.1 on random free ports. The kubeconfig has two contexts: ``admin``
(static token, group ``system:masters``; the current context) and ``alice`` (static token, no
RBAC bindings: only what ``system:authenticated`` gets, i.e. discovery and self-reviews).

There is no kube-controller-manager: namespaces never finish deleting, and there is no garbage
collection, no service-account tokens, no pods running. Use a fresh namespace per test.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from testenv.istio_crds import IstioCrdError, istio_crd_file, testenv_cache

TESTENV_DIR = Path(__file__).resolve().parent
BUILD_SCRIPT = TESTENV_DIR / "build.sh"
DEFAULT_READY_TIMEOUT = 60.0

__all__ = ["ControlPlane", "ControlPlaneError", "binary_dir", "k8s_version"]


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or made ready."""


# ---------------------------------------------------------------------------------------------
# binaries


def _gomod_version(module: str) -> str:
    text = (TESTENV_DIR / "go.mod").read_text()
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.M)
    if not m:
        raise ControlPlaneError(f"{module} not found in {TESTENV_DIR / 'go.mod'}")
    return m.group(1)


def k8s_version() -> str:
    """The pinned ``k8s.io/kubernetes`` version, e.g. ``v1.34.12``."""
    return _gomod_version("k8s.io/kubernetes")


def binary_dir(build: bool = True) -> Path:
    """Directory holding ``kube-apiserver`` and ``etcd``; runs build.sh when they are missing.

    ``EGRESS_TESTENV_BIN`` overrides the directory (no build). ``EGRESS_TESTENV_NO_BUILD=1``
    turns a missing binary into an error instead of a (long) build.
    """
    override = os.environ.get("EGRESS_TESTENV_BIN")
    d = Path(override) if override else testenv_cache() / k8s_version() / "bin"

    def ok() -> bool:
        return all(os.access(d / b, os.X_OK) for b in ("kube-apiserver", "etcd"))

    if ok():
        return d
    if override or not build or os.environ.get("EGRESS_TESTENV_NO_BUILD") == "1":
        raise ControlPlaneError(f"kube-apiserver/etcd not found in {d}; build them with: bash {BUILD_SCRIPT}")
    print(
        f"testenv: binaries missing in {d}; running {BUILD_SCRIPT} (one-time, ~15-25 min)", file=sys.stderr, flush=True
    )
    res = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=sys.stderr, stderr=sys.stderr)
    if res.returncode != 0 or not ok():
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed (exit {res.returncode})")
    return d


# ---------------------------------------------------------------------------------------------
# helpers


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _gen_rsa_key(path: Path) -> None:
    """Write a PEM RSA private key (service-account signing key) with openssl or cryptography."""
    if shutil.which("openssl"):
        subprocess.run(
            ["openssl", "genrsa", "-out", str(path), "2048"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    else:
        try:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise ControlPlaneError("need the `openssl` CLI or the `cryptography` package") from e
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
    path.chmod(0o600)


def _pdeathsig() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def _pid_is(pid: int, binary: str) -> bool:
    """True when ``pid`` is alive and runs ``binary`` (guards against recycled pids)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return os.path.basename(cmd) == binary and _pid_alive(pid)


def _kill_pid(pid: int, sig: int, timeout: float) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end and _pid_alive(pid):
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------


class ControlPlane:
    """etcd + kube-apiserver on 127.0.0.1, with CRDs installed and a kubeconfig written.

    :param crd_files: extra CRD YAML files (multi-document; non-CRD documents are ignored).
    :param default_crds: also install Istio's CRDs (the pinned ``istio.io/api`` module's, see
        ``istio_crds.py``; fetched into the cache once if missing).
    :param kubeconfig_path: where to write the kubeconfig (default: inside the temp dir).
    :param workdir: temp dir for etcd data, keys, tokens and logs (default: a new mkdtemp,
        removed by :meth:`stop`; a given workdir is left in place).
    :param bin_dir: directory with ``kube-apiserver`` and ``etcd`` (default: the build cache,
        built by build.sh if missing unless ``build=False``).
    :param ready_timeout: seconds to wait for ``/readyz`` (and, separately, for the CRDs).
    :param detach: leave the processes running when this Python process exits (CLI mode).
        Otherwise they get SIGKILL if the process that started them dies, and :meth:`stop`
        runs at interpreter exit.
    """

    ADMIN_USER = "admin"
    UNPRIVILEGED_USER = "alice"

    def __init__(
        self,
        crd_files: Iterable[str | os.PathLike] = (),
        *,
        default_crds: bool = True,
        kubeconfig_path: str | os.PathLike | None = None,
        workdir: str | os.PathLike | None = None,
        bin_dir: str | os.PathLike | None = None,
        build: bool = True,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        detach: bool = False,
        extra_apiserver_args: Sequence[str] = (),
    ) -> None:
        files = [Path(p) for p in crd_files]
        if default_crds:
            try:
                files = [istio_crd_file(), *files]
            except IstioCrdError as e:
                raise ControlPlaneError(str(e)) from e
        for f in files:
            if not f.is_file():
                raise ControlPlaneError(f"CRD file not found: {f}")
        self.crd_files: list[Path] = files
        self._given_workdir = Path(workdir) if workdir else None
        self._given_kubeconfig = Path(kubeconfig_path) if kubeconfig_path else None
        self._bin_dir = Path(bin_dir) if bin_dir else None
        self._build = build
        self.ready_timeout = ready_timeout
        self.detach = detach
        self.extra_apiserver_args = list(extra_apiserver_args)

        self.admin_token = secrets.token_hex(24)
        self.unprivileged_token = secrets.token_hex(24)
        self.workdir: Path | None = None
        self.etcd_port = self.etcd_peer_port = self.apiserver_port = 0
        self.etcd: subprocess.Popen | None = None
        self.apiserver: subprocess.Popen | None = None
        self.crd_names: list[str] = []
        self.startup_seconds: float | None = None  # start() to "ready with CRDs"
        self._ca_pem: str | None = None
        self._ssl: ssl.SSLContext | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._lock = threading.Lock()
        self._atexit = False

    # -- public properties -------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def kubeconfig_path(self) -> Path:
        if self._given_kubeconfig:
            return self._given_kubeconfig
        if self.workdir is None:
            raise ControlPlaneError("not started")
        return self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        """The apiserver's serving certificate bundle (self-signed, from --cert-dir)."""
        assert self.workdir is not None
        return self.workdir / "pki" / "apiserver.crt"

    @property
    def ca_pem(self) -> str:
        if self._ca_pem is None:
            raise ControlPlaneError("apiserver certificate not available yet")
        return self._ca_pem

    @property
    def running(self) -> bool:
        return self.apiserver is not None and self.apiserver.poll() is None

    def env(self) -> dict[str, str]:
        """Environment additions for code under test (``KUBECONFIG``)."""
        return {"KUBECONFIG": str(self.kubeconfig_path)}

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        """Start etcd and kube-apiserver, wait for readiness, install CRDs, write kubeconfig."""
        t0 = time.monotonic()
        bins = self._bin_dir or binary_dir(build=self._build)
        self._bin_dir = bins
        if self._given_workdir:
            self.workdir = self._given_workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="egress-testenv-"))
        if not self.detach and not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        try:
            self._prepare_files()
            self._start_etcd()
            self._first_apiserver_start()
            self.write_kubeconfig()
            if self.crd_files:
                self.install_crds(self.crd_files)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _first_apiserver_start(self, attempts: int = 3) -> None:
        # a random free port can be taken by someone else before kube-apiserver binds it
        for attempt in range(attempts):
            self.apiserver_port = _free_ports(1)[0]
            try:
                self.start_apiserver()
                return
            except ControlPlaneError as e:
                if attempt == attempts - 1 or "address already in use" not in str(e):
                    raise
                self.stop_apiserver()

    def stop(self) -> None:
        """Stop kube-apiserver and etcd; remove the temp dir (unless a workdir was given)."""
        with self._lock:
            for attr in ("apiserver", "etcd"):
                proc = getattr(self, attr)
                if proc is not None:
                    self._terminate(proc, timeout=10)
                    setattr(self, attr, None)
            if self.workdir is not None and self._given_workdir is None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self._given_kubeconfig is not None and self.workdir is not None:
                with contextlib.suppress(OSError):
                    self._given_kubeconfig.unlink()
            self.workdir = None

    def kill_apiserver(self) -> None:
        """SIGKILL kube-apiserver at once (etcd keeps running). Bring it back with start_apiserver()."""
        if self.apiserver is not None:
            self.apiserver.kill()
            self.apiserver.wait()
            self.apiserver = None

    def stop_apiserver(self, timeout: float = 15.0) -> None:
        """Gracefully stop kube-apiserver (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.apiserver is not None:
            self._terminate(self.apiserver, timeout)
            self.apiserver = None

    def start_apiserver(self, timeout: float | None = None) -> None:
        """(Re)start kube-apiserver on the same port and certs and wait for /readyz."""
        if self.running:
            return
        assert self.workdir is not None and self._bin_dir is not None
        w = self.workdir
        args = [
            str(self._bin_dir / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.apiserver_port}",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--cert-dir={w / 'pki'}",
            f"--token-auth-file={w / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={w / 'sa.key'}",
            f"--service-account-signing-key-file={w / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            *self.extra_apiserver_args,
        ]
        self.apiserver = self._spawn(args, w / "apiserver.log")
        self.wait_ready(timeout or self.ready_timeout)

    def restart_apiserver(self, timeout: float | None = None, graceful: bool = True) -> None:
        """Stop (SIGTERM, or SIGKILL if not ``graceful``) and start kube-apiserver; etcd stays."""
        if graceful:
            self.stop_apiserver()
        else:
            self.kill_apiserver()
        self.start_apiserver(timeout)

    # -- readiness -----------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait for the serving cert, ``/readyz`` (as admin) and the ``default`` namespace."""
        timeout = timeout or self.ready_timeout
        end = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < end:
            self._check_alive(self.apiserver, "kube-apiserver", "apiserver.log")
            try:
                if self._ssl is None:
                    self._load_ca()
                status, body = self.request("GET", "/readyz", timeout=5)
                if status == 200:
                    status, body = self.request("GET", "/api/v1/namespaces/default", timeout=5)
                    if status == 200:
                        return
                last = f"HTTP {status}: {str(body)[:300]}"
            except (OSError, ssl.SSLError, ValueError, ControlPlaneError) as e:
                last = e
            time.sleep(0.25)
        assert self.workdir is not None
        raise ControlPlaneError(
            f"kube-apiserver not ready after {timeout:.0f}s (last: {last!r})\n"
            f"--- apiserver.log tail ---\n{_tail(self.workdir / 'apiserver.log')}"
        )

    # -- CRDs ----------------------------------------------------------------------------------

    def install_crds(self, files: Iterable[str | os.PathLike], timeout: float | None = None) -> list[str]:
        """Create (or update) every CRD in ``files``; wait until Established and served."""
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        crds: list[dict[str, Any]] = []
        for f in files:
            for doc in yaml.load_all(Path(f).read_text(), Loader=loader):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(doc)
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for crd in crds:
            name = crd["metadata"]["name"]
            status, body = self.request("POST", base, crd, timeout=30)
            if status == 409:  # already there (e.g. installed twice): replace it
                status, cur = self.request("GET", f"{base}/{name}")
                if status == 200:
                    crd = {
                        **crd,
                        "metadata": {**crd["metadata"], "resourceVersion": cur["metadata"]["resourceVersion"]},
                    }
                    status, body = self.request("PUT", f"{base}/{name}", crd, timeout=30)
            if status not in (200, 201):
                raise ControlPlaneError(f"installing CRD {name} failed: HTTP {status}: {body}")
        self._wait_crds(crds, timeout or self.ready_timeout)
        names = [c["metadata"]["name"] for c in crds]
        self.crd_names.extend(n for n in names if n not in self.crd_names)
        return names

    def _wait_crds(self, crds: list[dict[str, Any]], timeout: float) -> None:
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        pending = {c["metadata"]["name"]: c for c in crds}
        end = time.monotonic() + timeout
        last: object = None
        while pending and time.monotonic() < end:
            for name, crd in list(pending.items()):
                status, body = self.request("GET", f"{base}/{name}")
                conds = {
                    c.get("type"): c.get("status") for c in ((body or {}).get("status") or {}).get("conditions") or []
                }
                if status != 200 or conds.get("Established") != "True" or conds.get("NamesAccepted") != "True":
                    last = f"{name}: HTTP {status} conditions={conds}"
                    continue
                group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
                served = [v["name"] for v in crd["spec"]["versions"] if v.get("served", True)]
                ok = True
                for v in served:  # discovery must list the resource, and listing must work
                    st, disc = self.request("GET", f"/apis/{group}/{v}")
                    names = {r.get("name") for r in (disc or {}).get("resources", [])} if st == 200 else set()
                    if plural not in names:
                        ok, last = False, f"{group}/{v} discovery lacks {plural} (HTTP {st})"
                        break
                    st, _ = self.request("GET", f"/apis/{group}/{v}/{plural}?limit=1")
                    if st != 200:
                        ok, last = False, f"list {group}/{v}/{plural}: HTTP {st}"
                        break
                if ok:
                    del pending[name]
            if pending:
                time.sleep(0.1)
        if pending:
            raise ControlPlaneError(
                f"CRDs not established/served after {timeout:.0f}s: {sorted(pending)} (last: {last})"
            )

    # -- HTTP ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        timeout: float = 10,
    ) -> tuple[int, Any]:
        """One REST call (admin token unless ``token`` is given). Returns (status, parsed body).

        ``body`` may be a dict (sent as JSON), str or bytes. HTTP errors are returned, not raised;
        connection errors raise OSError.
        """
        if self._ssl is None:
            self._load_ca()
        data = None
        if body is not None:
            data = (
                body
                if isinstance(body, bytes)
                else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
            )
        req = urllib.request.Request(self.server_url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.admin_token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", content_type)
        https = urllib.request.HTTPSHandler(context=self._ssl)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), https)
        try:
            with opener.open(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    # -- kubeconfig ----------------------------------------------------------------------------

    def kubeconfig(self) -> dict[str, Any]:
        ca = base64.b64encode(self.ca_pem.encode()).decode()
        cluster = "egress-testenv"
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": self.server_url, "certificate-authority-data": ca}}],
            "users": [
                {"name": self.ADMIN_USER, "user": {"token": self.admin_token}},
                {"name": self.UNPRIVILEGED_USER, "user": {"token": self.unprivileged_token}},
            ],
            "contexts": [
                {"name": "admin", "context": {"cluster": cluster, "user": self.ADMIN_USER, "namespace": "default"}},
                {
                    "name": "alice",
                    "context": {"cluster": cluster, "user": self.UNPRIVILEGED_USER, "namespace": "default"},
                },
            ],
            "current-context": "admin",
        }

    def write_kubeconfig(self, path: str | os.PathLike | None = None) -> Path:
        p = Path(path) if path else self.kubeconfig_path
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(self.kubeconfig(), f, sort_keys=False)
        os.replace(tmp, p)
        return p

    # -- internals -----------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        w = self.workdir
        assert w is not None
        (w / "pki").mkdir(exist_ok=True)
        _gen_rsa_key(w / "sa.key")
        tokens = w / "tokens.csv"
        tokens.write_text(
            f'{self.admin_token},{self.ADMIN_USER},admin-uid,"system:masters"\n'
            f"{self.unprivileged_token},{self.UNPRIVILEGED_USER},alice-uid\n"
        )
        tokens.chmod(0o600)

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen:
        main = threading.current_thread() is threading.main_thread()
        with open(log, "ab") as out:
            return subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
                # only from the main thread: PDEATHSIG fires when the *thread* that forked exits
                preexec_fn=_pdeathsig if (main and not self.detach) else None,
            )

    def _start_etcd(self, attempts: int = 3) -> None:
        assert self.workdir is not None and self._bin_dir is not None
        for attempt in range(attempts):
            self.etcd_port, self.etcd_peer_port = _free_ports(2)
            peer = f"http://127.0.0.1:{self.etcd_peer_port}"
            args = [
                str(self._bin_dir / "etcd"),
                "--name=egress-testenv",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=egress-testenv={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ]
            self.etcd = self._spawn(args, self.workdir / "etcd.log")
            end = time.monotonic() + 20
            while time.monotonic() < end and self.etcd.poll() is None:
                try:
                    with self._opener.open(self.etcd_url + "/health", timeout=2) as r:
                        if json.loads(r.read()).get("health") == "true":
                            return
                except (OSError, ValueError):
                    pass
                time.sleep(0.1)
            log = _tail(self.workdir / "etcd.log")
            self._terminate(self.etcd, 5)
            self.etcd = None
            if attempt == attempts - 1 or "address already in use" not in log:
                raise ControlPlaneError(f"etcd did not become healthy\n--- etcd.log ---\n{log}")
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def _load_ca(self) -> None:
        crt = self.ca_file
        pem = crt.read_text() if crt.exists() else ""
        if "-----END CERTIFICATE-----" not in pem or not pem.rstrip().endswith("-----"):
            raise ControlPlaneError("apiserver.crt not written yet")
        ctx = ssl.create_default_context(cadata=pem)  # raises SSLError on a partial file
        self._ca_pem, self._ssl = pem, ctx

    def _check_alive(self, proc: subprocess.Popen | None, what: str, log: str) -> None:
        if proc is None or proc.poll() is not None:
            code = None if proc is None else proc.returncode
            assert self.workdir is not None
            raise ControlPlaneError(f"{what} exited (code {code})\n--- {log} tail ---\n{_tail(self.workdir / log)}")

    @staticmethod
    def _terminate(proc: subprocess.Popen, timeout: float) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def state(self) -> dict[str, Any]:
        """JSON-serialisable description (used by the CLI's state file)."""
        return {
            "server_url": self.server_url,
            "etcd_url": self.etcd_url,
            "kubeconfig": str(self.kubeconfig_path),
            "workdir": str(self.workdir),
            "remove_workdir": self._given_workdir is None,
            "apiserver_pid": self.apiserver.pid if self.apiserver else None,
            "etcd_pid": self.etcd.pid if self.etcd else None,
            "admin_token": self.admin_token,
            "unprivileged_token": self.unprivileged_token,
            "crds": self.crd_names,
            "startup_seconds": self.startup_seconds,
            "k8s_version": k8s_version(),
        }


# ---------------------------------------------------------------------------------------------
# CLI


def _state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def _cli_start(a: argparse.Namespace) -> int:
    state_dir = Path(a.state_dir)
    sf = _state_file(state_dir)
    if sf.exists():
        st = json.loads(sf.read_text())
        if st.get("apiserver_pid") and _pid_is(st["apiserver_pid"], "kube-apiserver"):
            print(
                f"already running: {st['server_url']} (kubeconfig {st['kubeconfig']}); "
                f"run `python -m testenv.controlplane stop` first",
                file=sys.stderr,
            )
            return 1
        _cli_stop(a)  # stale state: clean up leftovers
    kubeconfig = Path(a.kubeconfig) if a.kubeconfig else state_dir / "kubeconfig"
    cp = ControlPlane(
        a.crd,
        default_crds=not a.no_default_crds,
        kubeconfig_path=kubeconfig.resolve(),
        detach=True,
        ready_timeout=a.timeout,
    )
    cp.start()
    for namespace in a.namespace:
        status, body = cp.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        if status not in (201, 409):
            print(f"creating namespace {namespace}: HTTP {status} {body}", file=sys.stderr)
            return 1
    state_dir.mkdir(parents=True, exist_ok=True)
    for name, tok in (("admin.token", cp.admin_token), ("alice.token", cp.unprivileged_token)):
        (state_dir / name).write_text(tok + "\n")
        (state_dir / name).chmod(0o600)
    sf.write_text(json.dumps(cp.state(), indent=2) + "\n")
    sf.chmod(0o600)
    print(
        f"kube-apiserver {k8s_version()} ready at {cp.server_url} "
        f"in {cp.startup_seconds:.1f}s ({len(cp.crd_names)} CRDs)"
    )
    print(f"export KUBECONFIG={cp.kubeconfig_path}")
    return 0


def _cli_stop(a: argparse.Namespace) -> int:
    sf = _state_file(Path(a.state_dir))
    if not sf.exists():
        print("not running (no state file)", file=sys.stderr)
        return 0
    st = json.loads(sf.read_text())
    for key, binary in (("apiserver_pid", "kube-apiserver"), ("etcd_pid", "etcd")):
        pid = st.get(key)
        if pid and _pid_is(pid, binary):
            _kill_pid(pid, signal.SIGTERM, timeout=10)
    if st.get("remove_workdir") and st.get("workdir"):
        shutil.rmtree(st["workdir"], ignore_errors=True)
    for p in (st.get("kubeconfig"), sf, Path(a.state_dir) / "admin.token", Path(a.state_dir) / "alice.token"):
        if p:
            with contextlib.suppress(OSError):
                Path(p).unlink()
    print("stopped")
    return 0


def _cli_status(a: argparse.Namespace) -> int:
    sf = _state_file(Path(a.state_dir))
    if not sf.exists():
        print("not running")
        return 1
    st = json.loads(sf.read_text())
    alive = {
        k: bool(st.get(f"{k}_pid") and _pid_is(st[f"{k}_pid"], b))
        for k, b in (("apiserver", "kube-apiserver"), ("etcd", "etcd"))
    }
    print(json.dumps({**{k: v for k, v in st.items() if not k.endswith("token")}, "alive": alive}, indent=2))
    return 0 if all(alive.values()) else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m testenv.controlplane", description="Real kube-apiserver + etcd for integration tests."
    )
    p.add_argument("--state-dir", default=".testenv", help="where pids/state/tokens go (default: ./.testenv)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="start in the background; return once ready")
    s.add_argument("--kubeconfig", help="kubeconfig to write (default: <state-dir>/kubeconfig)")
    s.add_argument("--crd", action="append", default=[], metavar="FILE", help="extra CRD YAML file (repeatable)")
    s.add_argument("--no-default-crds", action="store_true", help="do not install Istio's CRDs (istio.io/api)")
    s.add_argument("--timeout", type=float, default=DEFAULT_READY_TIMEOUT)
    s.add_argument(
        "--namespace", action="append", default=[], metavar="NAME", help="namespace to create once ready (repeatable)"
    )
    sub.add_parser("stop", help="stop and clean up")
    sub.add_parser("status", help="show state; exit 1 unless both processes are alive")
    sub.add_parser("build", help="build the binaries if missing and print their directory")
    a = p.parse_args(argv)
    try:
        if a.cmd == "start":
            return _cli_start(a)
        if a.cmd == "stop":
            return _cli_stop(a)
        if a.cmd == "status":
            return _cli_status(a)
        print(binary_dir(build=True))
        return 0
    except ControlPlaneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
