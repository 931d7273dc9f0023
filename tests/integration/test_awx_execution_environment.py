# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment and the AWX registration, offline.

`ansible-builder create` renders the build context of execution-environment.yml
around a tarball of the collection; the dependency introspection the image build
runs is then run here, on the collection installed from that tarball beside
kubernetes.core, with the arguments the rendered Containerfile gives it. The
registration playbook is syntax-checked, and Ansible's reading of the data file
is checked to leave AWX's own templates alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
INTROSPECT = "RUN $PYCMD /output/scripts/introspect.py introspect "


def run(*command, **options):
    result = subprocess.run(list(command), env=ENV, capture_output=True, text=True, timeout=600, check=False, **options)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def read_yaml(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


GALAXY = read_yaml(ROOT, "galaxy.yml")
TARBALL = "cxpe-rollout-%s.tar.gz" % GALAXY["version"]


@pytest.fixture(name="context", scope="module")
def context_fixture(tmp_path_factory):
    """The build context ansible-builder renders for execution-environment.yml, with the tarball beside it as the
    documented commands make it (build/ee next to the definition)."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(os.path.join(ROOT, "execution-environment.yml"), str(work))
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(work / "build" / "ee"), ROOT)
    run(os.path.join(BIN, "ansible-builder"), "create", "--file", str(work / "execution-environment.yml"), "--context",
        str(work / "context"), "--output-filename", "Containerfile")
    return work


def containerfile(context):
    with open(str(context / "context" / "Containerfile"), encoding="utf-8") as stream:
        return stream.read().splitlines()


def test_the_image_has_python_3_11_ansible_core_and_runner(context):
    lines = containerfile(context)
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in lines
    assert 'ARG PYCMD="/usr/bin/python3.11"' in lines
    assert 'ARG PYPKG="python3.11"' in lines
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<3"' in lines


def test_kubernetes_core_comes_from_galaxy_in_the_range_the_collection_requires(context):
    requirements = read_yaml(str(context / "context" / "_build" / "requirements.yml"))
    assert requirements == {"collections": [{"name": "kubernetes.core", "version": GALAXY["dependencies"]["kubernetes.core"]}]}


def test_the_collection_is_installed_from_its_tarball_after_its_dependency(context):
    assert os.path.isfile(str(context / "context" / "_build" / "collections" / TARBALL))
    lines = containerfile(context)
    galaxy_install = [index for index, line in enumerate(lines) if line.startswith("RUN ") and "ansible-galaxy collection install" in line]
    assert len(galaxy_install) == 2
    assert "-r requirements.yml" in lines[galaxy_install[0]]
    assert lines[galaxy_install[1]] == ("RUN ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS "
                                        "--collections-path /usr/share/ansible/collections collections/cxpe-rollout-*.tar.gz")
    # Both before the builder stage, which introspects what they installed.
    assert galaxy_install[1] < lines.index("FROM base AS builder")


def test_kubectl_and_oc_are_left_out(context):
    with open(str(context / "context" / "_build" / "exclude-bindep.txt"), encoding="utf-8") as stream:
        assert stream.read().split() == ["kubernetes-client", "openshift-clients"]


def test_the_build_installs_what_the_collections_declare(context):
    """The builder stage's introspection, on the collection installed from the tarball and kubernetes.core."""
    collections = context / "collections"
    # --force: the same collection and version sit on ANSIBLE_COLLECTIONS_PATH (the test tree), and would be skipped.
    run(os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force", "-p", str(collections),
        str(context / "build" / "ee" / TARBALL))
    os.makedirs(str(collections / "ansible_collections" / "kubernetes"))
    os.symlink(os.path.realpath(os.path.join(COLLECTIONS, "ansible_collections", "kubernetes", "core")),
               str(collections / "ansible_collections" / "kubernetes" / "core"))

    # The Containerfile's own introspection command, its outputs moved from /tmp/src to the test's directory.
    command = [line for line in containerfile(context) if line.startswith(INTROSPECT)]
    assert len(command) == 1
    arguments = [argument.replace("/tmp/src/", str(context) + "/") for argument in shlex.split(command[0][len(INTROSPECT):])]
    assert "--exclude-bindep-reqs=exclude-bindep.txt" in arguments
    build = str(context / "context" / "_build")
    result = run(sys.executable, os.path.join(build, "scripts", "introspect.py"), "introspect", str(collections), *arguments, cwd=build)
    found = yaml.safe_load(result.stdout)

    # The collection's meta/ee-requirements.txt (PyYAML comes with every image), and kubernetes.core's own.
    assert [line for line in found["python"] if line.endswith("# from collection cxpe.rollout")] == [
        "kubernetes>=24.2.0  # from collection cxpe.rollout",
        "urllib3  # from collection cxpe.rollout",
    ]
    assert "jsonpatch  # from collection kubernetes.core" in found["python"]
    with open(str(context / "requirements.txt"), encoding="utf-8") as stream:
        assert stream.read().splitlines() == found["python"]
    # No system package: the collection needs none, kubernetes.core's kubectl and oc are excluded.
    assert found["system"] == []
    assert not os.path.exists(str(context / "bindep.txt"))


def test_the_registration_playbook_parses():
    run(os.path.join(BIN, "ansible-playbook"), "--syntax-check", os.path.join(ROOT, "playbooks", "awx_register.yml"), cwd=ROOT)


def test_ansible_reads_the_data_file_as_the_filters_expect(tmp_path):
    """The registration playbook's include_vars and filters, run by Ansible: AWX's injector templates stay as written."""
    output = tmp_path / "read.json"
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [
            {"name": "Read the templates", "ansible.builtin.include_vars": {
                "file": os.path.join(ROOT, "extensions", "awx", "job_templates.yml"), "name": "awx_register_data"}},
            {"name": "Write what the registration would send", "ansible.builtin.copy": {
                "dest": str(output), "mode": "0600",
                "content": "{{ {'credential_types': awx_register_data.credential_types,"
                           " 'job_templates': awx_register_data | cxpe.rollout.awx_job_templates('Default', 'cxpe.rollout', 'units'),"
                           " 'workflows': awx_register_data | cxpe.rollout.awx_workflow_job_templates('Default')} | to_json }}"}},
        ],
    }]
    playbook = tmp_path / "read.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    run(os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook))
    sent = json.loads(output.read_text(encoding="utf-8"))
    assert sent["credential_types"][0]["injectors"] == {"file": {"template": "{{ kubeconfig }}"},
                                                        "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename }}"}}
    upgrade = sent["job_templates"][0]
    assert upgrade["playbook"] == "playbooks/upgrade.yml"
    assert [question["variable"] for question in upgrade["survey_spec"]["spec"]][0] == "cxpe_version"
    assert [node["identifier"] for node in sent["workflows"][0]["workflow_nodes"]] == ["preflight", "backup", "upgrade"]
