# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The awx filters: job templates, surveys and workflows of the data file as awx.awx module arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cxpe.rollout.plugins.filter import awx

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))


class UnsafeTagLoader(yaml.SafeLoader):
    """Reads the credential type's injectors, AWX templates marked !unsafe for Ansible, as plain strings."""


UnsafeTagLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))

DATA = {
    "job_templates": [
        {
            "id": "upgrade",
            "name": "upgrade the platform",
            "description": "Every unit to a release.",
            "playbook": "playbooks/upgrade.yml",
            "forks": 20,
            "ask_variables_on_launch": True,
            "survey": [
                {"variable": "cxpe_version", "question": "Target version", "description": "The version.", "type": "text",
                 "required": True, "min": 1, "spec": {"role": "service_upgrade"}},
                {"variable": "cxpe_upgrade_backup", "question": "Back up first", "type": "multiplechoice",
                 "choices": ["true", "false"], "default": "true", "spec": {"playbook": "playbooks/upgrade_plan.yml"}},
            ],
        },
        {
            "id": "preflight",
            "name": "preflight",
            "playbook": "playbooks/preflight.yml",
            "survey": [
                {"variable": "cxpe_groups", "question": "Groups", "type": "multiselect", "choices": ["gauth", "voice", "gws"],
                 "default": ["gauth", "gws"]},
                {"variable": "preflight_max_release_gap", "question": "Releases ahead", "type": "integer", "default": 2, "min": 0},
                {"variable": "preflight_endpoint_timeout", "question": "Timeout", "type": "float", "default": 3},
            ],
        },
        {"id": "status", "name": "status", "playbook": "playbooks/platform_status.yml"},
    ],
    "workflow_job_templates": [
        {
            "id": "flow",
            "name": "preflight, upgrade",
            "survey": [{"variable": "cxpe_version", "question": "Target version", "type": "text", "required": True}],
            "nodes": [
                {"identifier": "check", "job_template": "preflight", "success": ["go"], "failure": ["look"]},
                {"identifier": "go", "job_template": "upgrade", "extra_data": {"cxpe_upgrade_backup": "false"}},
                {"identifier": "look", "job_template": "status"},
            ],
        },
    ],
}


def test_a_job_template_becomes_the_job_template_module_arguments():
    templates = awx.awx_job_templates(DATA, "Default", "cxpe.rollout", "unit group east", ["east kubeconfig"], "cxpe-rollout-ee")
    assert templates[0] == {
        "name": "upgrade the platform",
        "description": "Every unit to a release.",
        "organization": "Default",
        "project": "cxpe.rollout",
        "inventory": "unit group east",
        "playbook": "playbooks/upgrade.yml",
        "job_type": "run",
        "credentials": ["east kubeconfig"],
        "execution_environment": "cxpe-rollout-ee",
        "forks": 20,
        "ask_variables_on_launch": True,
        "survey_enabled": True,
        "survey_spec": {
            "name": "upgrade the platform",
            "description": "Every unit to a release.",
            "spec": [
                {"question_name": "Target version", "question_description": "The version.", "variable": "cxpe_version",
                 "type": "text", "required": True, "min": 1},
                {"question_name": "Back up first", "question_description": "", "variable": "cxpe_upgrade_backup",
                 "type": "multiplechoice", "required": False, "choices": ["true", "false"], "default": "true"},
            ],
        },
    }


def test_defaults_are_as_awx_takes_them():
    # A multiselect's default is one string, a line per choice; a float's a float, which AWX checks.
    spec = awx.awx_job_templates(DATA, "Default", "p", "i")[1]["survey_spec"]["spec"]
    assert [(question["variable"], question["default"]) for question in spec] == [
        ("cxpe_groups", "gauth\ngws"), ("preflight_max_release_gap", 2), ("preflight_endpoint_timeout", 3.0)]
    assert isinstance(spec[2]["default"], float)


def test_what_is_not_given_is_left_out():
    template = awx.awx_job_templates(DATA, "Default", "p", "i")[2]
    assert template == {"name": "status", "description": "", "organization": "Default", "project": "p", "inventory": "i",
                        "playbook": "playbooks/platform_status.yml", "job_type": "run", "credentials": [],
                        "ask_variables_on_launch": False, "survey_enabled": False}


def test_a_workflow_runs_its_nodes_templates_by_name_with_their_links():
    workflow = awx.awx_workflow_job_templates(DATA, "Default")[0]
    assert workflow["survey_enabled"] is True
    assert workflow["survey_spec"]["spec"] == [
        {"question_name": "Target version", "question_description": "", "variable": "cxpe_version", "type": "text", "required": True}]
    assert workflow["workflow_nodes"] == [
        {"identifier": "check",
         "unified_job_template": {"name": "preflight", "type": "job_template", "organization": {"name": "Default"}},
         "extra_data": {},
         "related": {"success_nodes": [{"identifier": "go"}], "failure_nodes": [{"identifier": "look"}], "always_nodes": []}},
        {"identifier": "go",
         "unified_job_template": {"name": "upgrade the platform", "type": "job_template", "organization": {"name": "Default"}},
         "extra_data": {"cxpe_upgrade_backup": "false"},
         "related": {"success_nodes": [], "failure_nodes": [], "always_nodes": []}},
        {"identifier": "look",
         "unified_job_template": {"name": "status", "type": "job_template", "organization": {"name": "Default"}},
         "extra_data": {},
         "related": {"success_nodes": [], "failure_nodes": [], "always_nodes": []}},
    ]
    assert workflow["approval_nodes"] == []


def changed(change):
    data = copy.deepcopy(DATA)
    change(data)
    return data


def with_approval(data):
    """DATA with an approval node between the preflight and the upgrade."""
    nodes = data["workflow_job_templates"][0]["nodes"]
    nodes[0]["success"] = ["gate"]
    nodes.insert(1, {"identifier": "gate", "approval": {"name": "approve", "description": "Read the preflight's output.", "timeout": 14400},
                     "success": ["go"]})


def test_an_approval_node_is_a_node_without_a_template_and_an_approval():
    workflow = awx.awx_workflow_job_templates(changed(with_approval), "Default")[0]
    nodes = workflow["workflow_nodes"]
    assert nodes[0]["related"]["success_nodes"] == [{"identifier": "gate"}]
    # awx.awx.workflow_job_template makes the node and its links, and looks up no template for it.
    assert nodes[1] == {
        "identifier": "gate",
        "unified_job_template": {"name": None, "type": None},
        "related": {"success_nodes": [{"identifier": "go"}], "failure_nodes": [], "always_nodes": []},
    }
    # awx.awx.workflow_job_template_node its approval.
    assert workflow["approval_nodes"] == [
        {"identifier": "gate", "approval_node": {"name": "approve", "description": "Read the preflight's output.", "timeout": 14400}}]
    # No description, no timeout: AWX's defaults.
    data = changed(with_approval)
    data["workflow_job_templates"][0]["nodes"][1]["approval"] = {"name": "approve"}
    assert awx.awx_workflow_job_templates(data, "Default")[0]["approval_nodes"][0]["approval_node"] == {
        "name": "approve", "description": "", "timeout": 0}


def with_approval_changed(change):
    """DATA with the approval node, and that node changed."""
    def change_data(data):
        with_approval(data)
        change(data["workflow_job_templates"][0]["nodes"][1])
    return changed(change_data)


@pytest.mark.parametrize("data, message", [
    (changed(lambda data: data["job_templates"][0].update(limit="east")), "job_templates[0]: unknown keys: limit"),
    (changed(lambda data: data["job_templates"][0].pop("playbook")), "job_templates[0]: missing: playbook"),
    (changed(lambda data: data["job_templates"][0]["survey"][0].update(type="boolean")),
     "job template upgrade, question cxpe_version: type boolean is not one of text, textarea, integer, float, multiplechoice, multiselect"),
    (changed(lambda data: data["job_templates"][0]["survey"][1].update(default="yes")),
     "job template upgrade, question cxpe_upgrade_backup: the default 'yes' is not among the choices"),
    (changed(lambda data: data["job_templates"][1]["survey"][0].update(default="gauth")),
     "job template preflight, question cxpe_groups: the default of a multiselect is a list, got 'gauth'"),
    (changed(lambda data: data["job_templates"][1]["survey"][0].pop("choices")), "job template preflight, question cxpe_groups: a multiselect needs choices"),
    (changed(lambda data: data["job_templates"][0]["survey"][0].update(choices=["9.0.101.02"])),
     "job template upgrade, question cxpe_version: a text has no choices"),
    (changed(lambda data: data["job_templates"][1]["survey"].append(dict(data["job_templates"][1]["survey"][1], question="again"))),
     "job template preflight: more than one question sets preflight_max_release_gap"),
    (changed(lambda data: data["job_templates"][2].update(id="upgrade")), "job_templates: more than one template has the id upgrade"),
])
def test_job_templates_the_filter_refuses(data, message):
    with pytest.raises(AnsibleFilterError, match="^%s$" % re.escape(message)):
        awx.awx_job_templates(data, "Default", "p", "i")


@pytest.mark.parametrize("data, message", [
    (changed(lambda data: data["workflow_job_templates"][0]["nodes"][0].update(job_template="backup")),
     "workflow flow, node check: no job template has the id backup"),
    (changed(lambda data: data["workflow_job_templates"][0]["nodes"][0].update(always=["end"])), "workflow flow, node check: no node is named end"),
    (changed(lambda data: data["workflow_job_templates"][0]["nodes"][2].update(identifier="go")), "workflow flow: more than one node is named go"),
    (changed(lambda data: data["workflow_job_templates"][0]["nodes"][2].update(approver="ops")), "workflow flow: unknown keys: approver"),
    (changed(lambda data: data["workflow_job_templates"][0]["nodes"][2].pop("job_template")),
     "workflow flow, node look: a node has either a job_template or an approval"),
    (with_approval_changed(lambda node: node.update(job_template="status")), "workflow flow, node gate: a node has either a job_template or an approval"),
    (with_approval_changed(lambda node: node["approval"].update(approvers=["ops"])), "workflow flow, node gate, approval: unknown keys: approvers"),
    (with_approval_changed(lambda node: node["approval"].pop("name")), "workflow flow, node gate, approval: missing: name"),
    (with_approval_changed(lambda node: node.update(approval="approve")), "workflow flow, node gate, approval: expected a mapping, got 'approve'"),
    (with_approval_changed(lambda node: node.update(extra_data={"cxpe_version": "9.0.101.02"})),
     "workflow flow, node gate: an approval takes no extra data"),
    (with_approval_changed(lambda node: node["approval"].update(timeout=-1)), "workflow flow, node gate: the timeout -1 is not a number of seconds (0: none)"),
    (with_approval_changed(lambda node: node["approval"].update(timeout="4h")),
     "workflow flow, node gate: the timeout '4h' is not a number of seconds (0: none)"),
    (with_approval_changed(lambda node: node["approval"].update(timeout=1.5)),
     "workflow flow, node gate: the timeout 1.5 is not a number of seconds (0: none)"),
    (with_approval_changed(lambda node: node["approval"].update(timeout=True)),
     "workflow flow, node gate: the timeout True is not a number of seconds (0: none)"),
    (with_approval_changed(lambda node: node.update(success=["end"])), "workflow flow, node gate: no node is named end"),
])
def test_workflows_the_filter_refuses(data, message):
    with pytest.raises(AnsibleFilterError, match="^%s$" % re.escape(message)):
        awx.awx_workflow_job_templates(data, "Default")


def test_the_shipped_templates_map_and_name_playbooks_of_the_collection():
    with open(os.path.join(ROOT, "extensions", "awx", "job_templates.yml"), encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=UnsafeTagLoader)  # nosec - a SafeLoader with one more tag
    templates = awx.awx_job_templates(data, "Default", "cxpe.rollout", "units")
    workflows = awx.awx_workflow_job_templates(data, "Default")
    assert templates and workflows
    assert all(os.path.isfile(os.path.join(ROOT, template["playbook"])) for template in templates)
    assert len(set(template["name"] for template in templates + workflows)) == len(templates) + len(workflows)
