# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_register.yml run by ansible-playbook against a simulated AWX controller (awx_support.py).

The awx.awx modules log in with a token from CONTROLLER_OAUTH_TOKEN and register the credential type, the execution
environment, the project, the job templates with their surveys and the workflows with their nodes, approval nodes
among them; the tests read what the controller holds, and compare it with what the cxpe.rollout.awx_* filters make of
extensions/awx/job_templates.yml. A second run writes nothing, a run without the repository's URL stops before it
asks the controller anything, and the token is not in the output of a -vvv run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

from ansible_collections.cxpe.rollout.plugins.filter import awx as awx_filters
from awx_support import SimulatedAWX
from playbook_support import ROOT, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "awx_register.yml")
TOKEN = uuid.uuid4().hex
ORGANIZATION = "Default"
PROJECT = "cxpe.rollout"
INVENTORY = "unit group east"
CREDENTIAL = "unit group east kubeconfig"
REGISTRY_CREDENTIAL = "registry.example.com"
EXECUTION_ENVIRONMENT = "cxpe-rollout-ee"
EE_IMAGE = "registry.example.com/cxpe/cxpe-rollout-ee:1.0.0"
SCM_URL = "https://git.example.com/ops/cxpe.rollout.git"
SCM_BRANCH = "release-1.0"
REGISTRATION = {
    "awx_register_scm_url": SCM_URL,
    "awx_register_scm_branch": SCM_BRANCH,
    "awx_register_inventory": INVENTORY,
    "awx_register_credentials": [CREDENTIAL],
    "awx_register_execution_environment": EXECUTION_ENVIRONMENT,
    "awx_register_ee_image": EE_IMAGE,
    "awx_register_ee_credential": REGISTRY_CREDENTIAL,
}


class _Loader(yaml.SafeLoader):
    """The data file as Ansible reads it: `!unsafe` marks the injectors, AWX's templates, as strings to leave alone."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def read_data():
    with open(os.path.join(ROOT, "extensions", "awx", "job_templates.yml"), encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_Loader)  # nosec - a SafeLoader with one more tag


DATA = read_data()


def register(awx, registration, *args):
    """ansible-playbook awx_register.yml against the simulated controller, the token in the environment only."""
    environment = dict((name, value) for name, value in os.environ.items() if not name.startswith(("CONTROLLER_", "TOWER_")))
    environment["CONTROLLER_OAUTH_TOKEN"] = TOKEN
    variables = dict(registration, controller_host=awx.url, ansible_python_interpreter=sys.executable)
    return run_playbook(environment, PLAYBOOK, "-e", json.dumps(variables), *args)


@pytest.fixture(name="awx", scope="module")
def awx_fixture():
    """The controller, holding what the templates refer to by name: the organization, the inventory, the kubeconfig
    credential and the registry credential; its project updates find the repository's playbooks."""
    playbooks = [os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))]
    with SimulatedAWX(TOKEN, playbooks) as awx:
        controller = awx.controller
        organization = controller.seed("organizations", ORGANIZATION)
        controller.seed("inventories", INVENTORY, organization=organization)
        controller.seed("credentials", CREDENTIAL, organization=organization, kind="cloud")
        controller.seed("credentials", REGISTRY_CREDENTIAL, organization=organization, kind="registry")
        yield awx


@pytest.fixture(name="runs", scope="module")
def runs_fixture(awx):
    """The registration run twice: the first with -vvv; the requests of the second."""
    first = register(awx, REGISTRATION, "-vvv")
    assert first[0].returncode == 0, first[0].stdout + first[0].stderr
    before_second = len(awx.controller.requests)
    second = register(awx, REGISTRATION)
    assert second[0].returncode == 0, second[0].stdout + second[0].stderr
    return {"first": first, "second": second, "second_requests": awx.controller.requests[before_second:]}


def workflow_of_data(workflow_id):
    """A workflow of the data file, and the arguments the filter makes of it."""
    workflows = DATA["workflow_job_templates"]
    index = [workflow["id"] for workflow in workflows].index(workflow_id)
    return workflows[index], awx_filters.awx_workflow_job_templates(DATA, ORGANIZATION)[index]


def registered_nodes(controller, workflow):
    """The nodes of a registered workflow, by identifier."""
    return dict((node["identifier"], node) for node in controller.find("workflow_job_template_nodes", workflow_job_template=workflow["id"]))


def test_the_simulator_wants_the_token(awx):
    url = awx.url + "/api/v2/job_templates/"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
        assert refused.value.code == 401
    authorized = {"Authorization": "Bearer " + TOKEN}
    with urllib.request.urlopen(urllib.request.Request(url, headers=authorized), timeout=10) as answer:
        assert set(json.load(answer)) == {"count", "next", "previous", "results"}
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(urllib.request.Request(awx.url + "/api/v2/no_such_things/", headers=authorized), timeout=10)
    assert unknown.value.code == 404
    assert json.load(unknown.value)["detail"]


def test_the_credential_type(awx, runs):
    registered = awx.controller.one("credential_types", name="cxpe.rollout kubeconfig")
    expected = DATA["credential_types"][0]
    assert registered["kind"] == "cloud"
    assert registered["inputs"] == expected["inputs"]
    assert registered["injectors"] == {"file": {"template": "{{ kubeconfig }}"}, "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename }}"}}


def test_the_execution_environment(awx, runs):
    controller = awx.controller
    registered = controller.one("execution_environments", name=EXECUTION_ENVIRONMENT)
    assert registered["image"] == EE_IMAGE
    assert controller.name_of(registered["organization"]) == ORGANIZATION
    assert controller.name_of(registered["credential"]) == REGISTRY_CREDENTIAL


def test_the_project(awx, runs):
    controller = awx.controller
    registered = controller.one("projects", name=PROJECT)
    assert (registered["scm_type"], registered["scm_url"], registered["scm_branch"]) == ("git", SCM_URL, SCM_BRANCH)
    assert controller.name_of(registered["organization"]) == ORGANIZATION
    assert controller.name_of(registered["default_environment"]) == EXECUTION_ENVIRONMENT
    # The project was synced before the templates were checked against its playbooks.
    assert registered["status"] == "successful"


def test_every_job_template_and_its_survey(awx, runs):
    controller = awx.controller
    expected = awx_filters.awx_job_templates(DATA, ORGANIZATION, PROJECT, INVENTORY, [CREDENTIAL], EXECUTION_ENVIRONMENT)
    assert sorted(template["name"] for template in controller.find("job_templates")) == sorted(template["name"] for template in expected)
    for template in expected:
        registered = controller.one("job_templates", name=template["name"])
        assert registered["playbook"] == template["playbook"]
        assert registered["description"] == template["description"]
        assert registered["job_type"] == "run"
        assert controller.name_of(registered["project"]) == PROJECT
        assert controller.name_of(registered["organization"]) == ORGANIZATION
        assert controller.name_of(registered["inventory"]) == INVENTORY
        assert controller.name_of(registered["execution_environment"]) == EXECUTION_ENVIRONMENT
        assert [controller.name_of(credential) for credential in controller.linked(registered["id"], "credentials")] == [CREDENTIAL]
        assert registered["forks"] == template.get("forks", 0)
        assert registered["ask_variables_on_launch"] == template["ask_variables_on_launch"]
        assert registered["survey_enabled"] is True
        assert controller.survey(registered["id"]) == template["survey_spec"]


def test_the_workflow_runs_preflight_then_backup_then_upgrade(awx, runs):
    controller = awx.controller
    expected = workflow_of_data("preflight_backup_upgrade")[1]
    workflow = controller.one("workflow_job_templates", name=expected["name"])
    assert controller.name_of(workflow["organization"]) == ORGANIZATION
    assert workflow["survey_enabled"] is True
    assert controller.survey(workflow["id"]) == expected["survey_spec"]

    nodes = registered_nodes(controller, workflow)
    assert sorted(nodes) == ["backup", "preflight", "upgrade"]
    templates = dict((template["id"], template["name"]) for template in DATA["job_templates"])
    for identifier, node in nodes.items():
        assert controller.name_of(node["unified_job_template"]) == templates[identifier]
        assert node["failure_nodes"] == [] and node["always_nodes"] == []
    assert nodes["preflight"]["success_nodes"] == [nodes["backup"]["id"]]
    assert nodes["backup"]["success_nodes"] == [nodes["upgrade"]["id"]]
    assert nodes["upgrade"]["success_nodes"] == []
    # The upgrade node skips the backup the node before it made.
    assert nodes["upgrade"]["extra_data"] == {"cxpe_upgrade_backup": "false"}
    assert nodes["preflight"]["extra_data"] == nodes["backup"]["extra_data"] == {}


def test_the_approval_workflow_waits_for_the_approval_between_backup_and_upgrade(awx, runs):
    controller = awx.controller
    data, expected = workflow_of_data("preflight_backup_approve_upgrade")
    workflow = controller.one("workflow_job_templates", name=expected["name"])
    assert controller.survey(workflow["id"]) == expected["survey_spec"]

    nodes = registered_nodes(controller, workflow)
    assert sorted(nodes) == ["approve", "backup", "preflight", "upgrade"]
    identifiers = dict((node["id"], identifier) for identifier, node in nodes.items())
    assert dict((identifier, [identifiers[following] for following in node["success_nodes"]]) for identifier, node in nodes.items()) == {
        "preflight": ["backup"], "backup": ["approve"], "approve": ["upgrade"], "upgrade": []}
    assert all(node["failure_nodes"] == [] and node["always_nodes"] == [] for node in nodes.values())
    templates = dict((template["id"], template["name"]) for template in DATA["job_templates"])
    for identifier in ("preflight", "backup", "upgrade"):
        assert controller.name_of(nodes[identifier]["unified_job_template"]) == templates[identifier]
    assert nodes["upgrade"]["extra_data"] == {"cxpe_upgrade_backup": "false"}

    approval = [node for node in data["nodes"] if node["identifier"] == "approve"][0]["approval"]
    template = controller.one("workflow_approval_templates", id=nodes["approve"]["unified_job_template"])
    assert (template["name"], template["description"], template["timeout"]) == (approval["name"], approval["description"], approval["timeout"])
    assert approval["timeout"] == 4 * 3600
    assert nodes["approve"]["extra_data"] == {}
    # The workflows' only approval template: none is left over from a run.
    assert [other["id"] for other in controller.find("workflow_approval_templates")] == [template["id"]]


def test_a_second_run_changes_nothing(runs):
    result, counts = runs["second"]
    assert counts["changed"] == 0, result.stdout
    assert runs["second_requests"]
    assert [request for request in runs["second_requests"] if request[0] != "GET"] == []


def test_the_token_is_not_in_the_output(runs):
    result, counts = runs["first"]
    assert counts["changed"] > 0
    # -vvv shows every module's arguments; the token is in the environment, and no_log besides.
    assert "controller_oauthtoken" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_without_the_repository_nothing_is_written(awx):
    before = len(awx.controller.requests)
    registration = dict((name, value) for name, value in REGISTRATION.items() if name != "awx_register_scm_url")
    result, _counts = register(awx, registration)
    assert result.returncode != 0
    assert "Set awx_register_scm_url (the repository of the playbooks) and awx_register_inventory" in result.stdout
    assert awx.controller.requests[before:] == []
