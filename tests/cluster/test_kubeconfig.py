"""Reading a kubeconfig's contexts for registration: clear codes, and never a credential in a message."""

from __future__ import annotations

import pytest

from policies.cluster.kubeconfig import ContextNotFound, CredentialProgramRefused, KubeconfigNotFound, read_contexts
from policies.cluster.kubernetes_client import ConfigurationError
from policies.core.yamlio import dump_yaml
from tests.fixtures.clusters import SECRET_TOKEN, kubeconfig_text


def write(tmp_path, text: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    return str(path)


def test_contexts_and_the_current_one_are_read(tmp_path):
    contexts = read_contexts(write(tmp_path, kubeconfig_text()))
    assert (contexts.names, contexts.current) == (("prod", "staging"), "prod")
    assert contexts.require("", "f") == "prod"
    assert contexts.require("staging", "f") == "staging"


def test_an_unknown_context_names_the_ones_there_and_no_credential(tmp_path):
    path = write(tmp_path, kubeconfig_text())
    with pytest.raises(ContextNotFound) as refused:
        read_contexts(path).require("dev", path)
    assert refused.value.code == "CLUSTER-E012"
    assert refused.value.message == f"The kubeconfig {path} has no context 'dev'; it has: prod, staging."
    assert SECRET_TOKEN not in str(refused.value)


def test_no_current_context_and_none_named_is_refused(tmp_path):
    path = write(tmp_path, "apiVersion: v1\nkind: Config\ncontexts: []\n")
    with pytest.raises(ContextNotFound, match="sets no current-context; name one of: none"):
        read_contexts(path).require("", path)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda tmp: str(tmp / "missing"), "There is no file"),
        (lambda tmp: str(tmp), "not a regular file"),
        (lambda tmp: "relative/kubeconfig", "absolute path"),
        (lambda tmp: "/dev/zero", "not a regular file"),
        (lambda tmp: f"{tmp}/a\x00b", "\\x00b': ValueError."),
    ],
    ids=["missing", "directory", "relative", "device", "nul-byte"],
)
def test_an_unreadable_path_is_kubeconfig_not_found(tmp_path, where, message):
    with pytest.raises(KubeconfigNotFound) as refused:
        read_contexts(where(tmp_path))
    assert refused.value.code == "CLUSTER-E011"
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [("users: [\n", "is not valid YAML"), ("contexts: prod\n", "has no list of contexts"), ("- a\n", "not valid YAML")],
    ids=["not-yaml", "contexts-not-a-list", "not-a-mapping"],
)
def test_a_file_that_is_not_a_kubeconfig_is_a_configuration_error(tmp_path, text, message):
    with pytest.raises(ConfigurationError, match=message) as refused:
        read_contexts(write(tmp_path, text))
    assert refused.value.code == "CLUSTER-E009"


def test_a_file_over_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"#" * (1024 * 1024 + 10))
    with pytest.raises(KubeconfigNotFound, match="over 1048576 bytes"):
        read_contexts(str(path))


def test_allowed_directories_admit_only_files_under_them(tmp_path):
    allowed, other = tmp_path / "kubeconfigs", tmp_path / "elsewhere"
    allowed.mkdir()
    other.mkdir()
    (allowed / "prod").write_text(kubeconfig_text())
    (other / "prod").write_text(kubeconfig_text())
    (allowed / "escape").symlink_to(other / "prod")
    assert read_contexts(str(allowed / "prod"), [str(allowed)]).names == ("prod", "staging")
    for outside in (other / "prod", allowed / "escape", allowed / ".." / "elsewhere" / "prod"):
        with pytest.raises(KubeconfigNotFound, match="is outside the kubeconfig directories the console allows"):
            read_contexts(str(outside), [str(allowed)])


def kubeconfig_with_programs() -> str:
    """Context ``token`` uses a bearer token; ``eks`` an exec plugin; ``gcp`` a legacy auth provider's command."""
    return dump_yaml(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
            "users": [
                {"name": "plain", "user": {"token": SECRET_TOKEN}},
                {"name": "aws", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}}},
                {"name": "g", "user": {"auth-provider": {"name": "gcp", "config": {"cmd-path": "/usr/bin/gcloud"}}}},
            ],
            "contexts": [
                {"name": "token", "context": {"cluster": "c", "user": "plain"}},
                {"name": "eks", "context": {"cluster": "c", "user": "aws"}},
                {"name": "gcp", "context": {"cluster": "c", "user": "g"}},
            ],
            "current-context": "eks",
        }
    )


def test_a_context_whose_user_runs_a_program_is_refused_unless_programs_are_allowed(tmp_path):
    # Given
    path = write(tmp_path, kubeconfig_with_programs())
    contexts = read_contexts(path)

    # When / Then: the token context is fine either way; the others name their program, never a credential
    assert contexts.programs == {"eks": "aws", "gcp": "/usr/bin/gcloud"}
    assert contexts.require("token", path, allow_programs=False) == "token"
    for context, program in (("", "aws"), ("gcp", "/usr/bin/gcloud")):
        with pytest.raises(CredentialProgramRefused) as refused:
            contexts.require(context, path, allow_programs=False)
        assert refused.value.code == "CLUSTER-E014"
        assert (
            f"by running {program!r}" in refused.value.message
            and "EGRESS_KUBECONFIG_ALLOW_EXEC" in refused.value.message
        )
        assert SECRET_TOKEN not in refused.value.message
    assert contexts.require("eks", path, allow_programs=True) == "eks"
