"""A throwaway PostgreSQL cluster for the test suite: initdb, pg_ctl start on 127.0.0.1, stop, remove.

Usage:
    python scripts/pgcluster.py start DIR   # prints the DATABASE_URL on stdout
    python scripts/pgcluster.py stop DIR    # stops the server and deletes DIR
    python scripts/pgcluster.py pause DIR   # stops the server, keeping DIR (an outage, for fault tests)
    python scripts/pgcluster.py resume DIR  # starts a paused server again, on the same port

Runs the server as the ``postgres`` system user when invoked as root (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def pg_bin(tool: str) -> str:
    """Path of a PostgreSQL server binary (Debian keeps them out of PATH)."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(tool)
    if not found:
        sys.exit(f"pgcluster: {tool} not found; install Debian's postgresql package")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_as_owner(args: list[str], owner: str | None) -> None:
    command = ["runuser", "-u", owner, "--", *args] if owner else args
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def start(root: Path) -> str:
    owner = "postgres" if os.geteuid() == 0 else None
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    if owner:
        uid = pwd.getpwnam(owner).pw_uid
        os.chown(root, uid, -1)
    port = free_port()
    run_as_owner([pg_bin("initdb"), "-D", str(data), "-U", "egress", "--auth=trust", "-E", "UTF8", "--no-sync"], owner)
    (root / "port").write_text(str(port))
    resume(root)
    subprocess.run(
        [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "egress", "egress"],
        check=True,
    )
    return f"postgres://egress@127.0.0.1:{port}/egress"


def resume(root: Path) -> None:
    """Start the server of an initialised (or paused) ``root`` on its port; return once it accepts connections."""
    owner = "postgres" if os.geteuid() == 0 else None
    port = int((root / "port").read_text())
    data, log = str(root / "data"), str(root / "server.log")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off"
    run_as_owner([pg_bin("pg_ctl"), "-D", data, "-l", log, "-o", options, "-w", "start"], owner)
    wait_ready(port)


def pause(root: Path) -> None:
    """Stop the server (its sessions are terminated, as in an outage), keeping the data for ``resume``."""
    owner = "postgres" if os.geteuid() == 0 else None
    run_as_owner([pg_bin("pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"], owner)


def wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"pgcluster: PostgreSQL did not accept connections on 127.0.0.1:{port} within {timeout:.0f}s")


def stop(root: Path) -> None:
    data = root / "data"
    if data.exists():
        owner = "postgres" if os.geteuid() == 0 else None
        run_as_owner([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], owner)
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    commands = {"start": lambda root: print(start(root)), "stop": stop, "pause": pause, "resume": resume}
    if len(sys.argv) != 3 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](Path(sys.argv[2]).resolve())


if __name__ == "__main__":
    main()
