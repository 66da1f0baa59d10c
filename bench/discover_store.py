"""Discover and replay through the console's service layer (issue 13): uploads stored, stored flows replayed.

Plain script, prints figures and asserts nothing. ``bench/discover.py`` measures the core alone; this
adds what an upload through the console or API costs on top (the database, on a throwaway SQLite):

    .venv/bin/python bench/discover_store.py [--lines 125000] [--flows 100000]

- upload: LINES access-log lines (``bench/discover.py``'s generator: TEXT and JSON, prefixed, a pod
  list) through ``policies.discovery.ingest``: read line by line, stored in one transaction; run in a
  child process so its peak resident memory is its own. The default, about 64 MiB, is the largest
  upload the console takes by default (``EGRESS_DISCOVERY_MAX_UPLOAD_BYTES``); the child raises that
  limit to the file's size, so larger ``--lines`` measure the same path;
- store: FLOWS distinct flows written, then the same FLOWS merged again (the second upload of a day);
- replay: the FLOWS stored flows read back and replayed against a draft allowing 1,000 of them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import _console  # noqa: F401  (sets up Django on a throwaway database)
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from bench.discover import GATEWAY, distinct_flows, write_inputs
from policies import discovery, services
from policies.core.discovery.propose import propose_policy
from policies.core.document import policy_to_data
from policies.models import EgressGateway, GatewayPortRecord, ObservationUpload


def gateway_record() -> EgressGateway:
    """The benchmark's gateway (HTTP 80 and 2,000 TLS ports) in the database."""
    gateway, created = EgressGateway.objects.get_or_create(name=GATEWAY.name)
    if created:
        GatewayPortRecord.objects.bulk_create(
            GatewayPortRecord(gateway=gateway, name=p.name, number=p.number, protocol=p.protocol) for p in GATEWAY.ports
        )
    return EgressGateway.objects.prefetch_related("ports").get(pk=gateway.pk)


def upload(log: str, pods: str) -> dict[str, float]:
    """One upload of the log (in the child): seconds, peak RSS, lines and flows stored."""
    call_command("migrate", verbosity=0)
    gateway = gateway_record()
    with open(pods, encoding="utf-8") as handle:
        sources = discovery.SourceSpec(pods_document=json.load(handle))
    user = _uploader()
    started, cpu = time.perf_counter(), time.process_time()
    with open(log, "rb") as handle:
        result = discovery.ingest(
            gateway, [discovery.LogInput("access.log", handle, os.path.getsize(log))], sources, user=user
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # NB: Linux reports KiB.
        "lines": result.upload.summary["lines"],
        "flows": result.created,
    }


def _uploader():
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    return user


def store_and_replay(count: int) -> dict[str, float]:
    """Seconds to write COUNT distinct flows, merge them again, and replay them from the database."""
    call_command("migrate", verbosity=0)
    gateway, user = gateway_record(), _uploader()
    flows = distinct_flows(count)
    for flow in flows:
        flow.first_seen = flow.last_seen = "2026-12-03T08:00:00.000Z"
    upload_row = ObservationUpload.objects.create(gateway=gateway, pod_source="namespace")
    timings = {}
    for label in ("write", "merge"):
        started, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():  # NB: as an upload stores its flows: one transaction
            discovery._merge(gateway, None, flows, upload_row, timezone.now())
        timings[label], timings[f"{label}_cpu"] = time.perf_counter() - started, time.process_time() - cpu
    draft = propose_policy(flows[:1_000], GATEWAY).policy
    assert draft is not None
    services.create_policy(policy_to_data(draft), user=user, message="bench")
    started, cpu = time.perf_counter(), time.process_time()
    result = discovery.replay(gateway, "draft")
    timings["replay"], timings["replay_cpu"] = time.perf_counter() - started, time.process_time() - cpu
    timings["replayed"] = result.flows
    timings.update({f"count_{k}": v for k, v in result.report.counts().items()})
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=125_000)
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, metavar=("LOG", "PODS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(upload(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        log, pods = write_inputs(folder, args.lines)
        size_mb = os.path.getsize(log) / 1e6
        limit = {"EGRESS_DISCOVERY_MAX_UPLOAD_BYTES": str(os.path.getsize(log) + os.path.getsize(pods))}
        command = [sys.executable, __file__, "--child", log, pods]
        child = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **limit})
    if child.returncode:
        sys.exit(f"the upload (child process) failed:\n{child.stderr}")
    figures = json.loads(child.stdout)
    print(
        f"upload: {figures['lines']:,} lines ({size_mb:.0f} MB) → {figures['flows']:,} flows stored "
        f"in {figures['seconds']:.2f} s ({figures['cpu']:.2f} s CPU), peak RSS {figures['peak_mb']:.0f} MB "
        "(one transaction, SQLite)"
    )
    store = store_and_replay(args.flows)
    write = f"{store['write']:.2f} s ({store['write_cpu']:.2f} s CPU)"
    merge = f"{store['merge']:.2f} s ({store['merge_cpu']:.2f} s CPU)"
    print(f"store: {args.flows:,} distinct flows written in {write}, merged again in {merge}")
    counts = {key[6:]: int(value) for key, value in store.items() if key.startswith("count_")}
    replay = f"{store['replay']:.2f} s ({store['replay_cpu']:.2f} s CPU)"
    print(f"replay: {int(store['replayed']):,} stored flows read and replayed against the draft in {replay} {counts}")


if __name__ == "__main__":
    main()
