# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the AWX job templates, surveys and workflows of extensions/awx/job_templates.yml into the
arguments of the awx.awx job_template and workflow_job_template modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

JOB_TEMPLATE_KEYS = ("id", "name", "description", "playbook", "forks", "ask_variables_on_launch", "survey")
WORKFLOW_KEYS = ("id", "name", "description", "survey", "nodes")
# A node runs a job template (`job_template`, with its `extra_data`) or waits for an approval (`approval`).
NODE_KEYS = ("identifier", "job_template", "approval", "extra_data", "success", "failure", "always")
APPROVAL_KEYS = ("name", "description", "timeout")
# `spec` says what a question's answer must agree with (the tests read it); AWX has no use for it.
QUESTION_KEYS = ("variable", "question", "description", "type", "required", "default", "choices", "min", "max", "spec")
QUESTION_TYPES = ("text", "textarea", "integer", "float", "multiplechoice", "multiselect")
CHOICE_TYPES = ("multiplechoice", "multiselect")
# A node's links in the data, and the awx.awx workflow node's `related` keys they become.
NODE_LINKS = (("success", "success_nodes"), ("failure", "failure_nodes"), ("always", "always_nodes"))


def _check_keys(entry, allowed, required, where):
    if not isinstance(entry, dict):
        raise AnsibleFilterError("%s: expected a mapping, got %r" % (where, entry))
    unknown = sorted(set(entry) - set(allowed))
    missing = [key for key in required if key not in entry]
    if unknown or missing:
        raise AnsibleFilterError("%s: %s" % (where, "; ".join(
            (["unknown keys: " + ", ".join(unknown)] if unknown else []) + (["missing: " + ", ".join(missing)] if missing else []))))


def _survey_default(kind, default, where):
    """The default as AWX takes it: a multiselect's as one string, a line per choice; a number's as a number of the
    question's type (AWX refuses 3 for a float)."""
    if kind == "multiselect":
        if not isinstance(default, list):
            raise AnsibleFilterError("%s: the default of a multiselect is a list, got %r" % (where, default))
        return "\n".join(str(value) for value in default)
    try:
        if kind == "integer":
            return int(default)
        if kind == "float":
            return float(default)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: the default %r is not a number" % (where, default))
    return str(default)


def survey_question(question, where):
    """One question of the data as a question of an AWX survey spec."""
    _check_keys(question, QUESTION_KEYS, ("variable", "question", "type"), where)
    where = "%s, question %s" % (where, question["variable"])
    kind = question["type"]
    if kind not in QUESTION_TYPES:
        raise AnsibleFilterError("%s: type %s is not one of %s" % (where, kind, ", ".join(QUESTION_TYPES)))
    converted = {
        "question_name": question["question"],
        "question_description": question.get("description", ""),
        "variable": question["variable"],
        "type": kind,
        "required": bool(question.get("required", False)),
    }
    if kind in CHOICE_TYPES:
        choices = [str(choice) for choice in question.get("choices") or []]
        if not choices:
            raise AnsibleFilterError("%s: a %s needs choices" % (where, kind))
        converted["choices"] = choices
    elif question.get("choices"):
        raise AnsibleFilterError("%s: a %s has no choices" % (where, kind))
    for bound in ("min", "max"):
        if question.get(bound) is not None:
            converted[bound] = int(question[bound])
    if question.get("default") is not None:
        default = _survey_default(kind, question["default"], where)
        if kind in CHOICE_TYPES and not set(default.splitlines()) <= set(converted["choices"]):
            raise AnsibleFilterError("%s: the default %r is not among the choices" % (where, question["default"]))
        converted["default"] = default
    return converted


def survey_spec(template, where):
    """The survey spec of a job or workflow template, or None when it asks nothing."""
    questions = template.get("survey") or []
    if not questions:
        return None
    spec = [survey_question(question, where) for question in questions]
    variables = [question["variable"] for question in spec]
    duplicates = sorted(set(variable for variable in variables if variables.count(variable) > 1))
    if duplicates:
        raise AnsibleFilterError("%s: more than one question sets %s" % (where, ", ".join(duplicates)))
    return {"name": template["name"], "description": template.get("description", ""), "spec": spec}


def _job_template_entries(data):
    templates = data.get("job_templates") or []
    for index, template in enumerate(templates):
        _check_keys(template, JOB_TEMPLATE_KEYS, ("id", "name", "playbook"), "job_templates[%d]" % index)
    ids = [template["id"] for template in templates]
    duplicates = sorted(set(template_id for template_id in ids if ids.count(template_id) > 1))
    if duplicates:
        raise AnsibleFilterError("job_templates: more than one template has the id %s" % ", ".join(duplicates))
    return templates


def _with_survey(arguments, spec):
    arguments["survey_enabled"] = spec is not None
    if spec is not None:
        arguments["survey_spec"] = spec
    return arguments


def awx_job_templates(data, organization, project, inventory, credentials=None, execution_environment=None):
    """Arguments of awx.awx.job_template for every job template of the data."""
    result = []
    for template in _job_template_entries(data):
        arguments = {
            "name": template["name"],
            "description": template.get("description", ""),
            "organization": organization,
            "project": project,
            "inventory": inventory,
            "playbook": template["playbook"],
            "job_type": "run",
            "credentials": list(credentials or []),
            "ask_variables_on_launch": bool(template.get("ask_variables_on_launch", False)),
        }
        if template.get("forks") is not None:
            arguments["forks"] = int(template["forks"])
        if execution_environment:
            arguments["execution_environment"] = execution_environment
        result.append(_with_survey(arguments, survey_spec(template, "job template %s" % template["id"])))
    return result


def _approval(node, where):
    """The approval of an approval node, as awx.awx.workflow_job_template_node's approval_node takes it."""
    approval = node["approval"]
    _check_keys(approval, APPROVAL_KEYS, ("name",), where + ", approval")
    if "extra_data" in node:
        raise AnsibleFilterError("%s: an approval takes no extra data" % where)
    timeout = approval.get("timeout", 0)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
        raise AnsibleFilterError("%s: the timeout %r is not a number of seconds (0: none)" % (where, timeout))
    return {"name": approval["name"], "description": approval.get("description", ""), "timeout": timeout}


def _workflow_node(node, names_by_id, identifiers, organization, where):
    """(the node as awx.awx.workflow_job_template's workflow_nodes take it, its approval or None)."""
    _check_keys(node, NODE_KEYS, ("identifier",), where)
    where = "%s, node %s" % (where, node["identifier"])
    if ("job_template" in node) == ("approval" in node):
        raise AnsibleFilterError("%s: a node has either a job_template or an approval" % where)
    related = {}
    for link, related_key in NODE_LINKS:
        targets = node.get(link) or []
        unknown = [target for target in targets if target not in identifiers]
        if unknown:
            raise AnsibleFilterError("%s: no node is named %s" % (where, ", ".join(unknown)))
        related[related_key] = [{"identifier": target} for target in targets]
    if "approval" in node:
        # awx.awx.workflow_job_template can make an approval node's template (type workflow_approval), but sends it
        # again at every run and reports a change: it compares the template with the node's identifier and workflow,
        # which a template does not have. So the workflow gets the node and its links, with no template to look up,
        # and awx.awx.workflow_job_template_node its approval, comparing only the name, description and timeout.
        return {"identifier": node["identifier"], "unified_job_template": {"name": None, "type": None}, "related": related}, _approval(node, where)
    if node["job_template"] not in names_by_id:
        raise AnsibleFilterError("%s: no job template has the id %s" % (where, node["job_template"]))
    return {
        "identifier": node["identifier"],
        "unified_job_template": {"name": names_by_id[node["job_template"]], "type": "job_template", "organization": {"name": organization}},
        "extra_data": dict(node.get("extra_data") or {}),
        "related": related,
    }, None


def awx_workflow_job_templates(data, organization):
    """Arguments of awx.awx.workflow_job_template for every workflow of the data, with its nodes, and the approvals of
    its approval nodes (`approval_nodes`: identifier and approval_node) for awx.awx.workflow_job_template_node."""
    names_by_id = dict((template["id"], template["name"]) for template in _job_template_entries(data))
    result = []
    for index, workflow in enumerate(data.get("workflow_job_templates") or []):
        _check_keys(workflow, WORKFLOW_KEYS, ("id", "name", "nodes"), "workflow_job_templates[%d]" % index)
        where = "workflow %s" % workflow["id"]
        identifiers = [node.get("identifier") for node in workflow["nodes"]]
        duplicates = sorted(set(identifier for identifier in identifiers if identifiers.count(identifier) > 1))
        if duplicates:
            raise AnsibleFilterError("%s: more than one node is named %s" % (where, ", ".join(duplicates)))
        nodes, approvals = [], []
        for node in workflow["nodes"]:
            workflow_node, approval = _workflow_node(node, names_by_id, identifiers, organization, where)
            nodes.append(workflow_node)
            if approval is not None:
                approvals.append({"identifier": node["identifier"], "approval_node": approval})
        arguments = {
            "name": workflow["name"],
            "description": workflow.get("description", ""),
            "organization": organization,
            "workflow_nodes": nodes,
            "approval_nodes": approvals,
        }
        result.append(_with_survey(arguments, survey_spec(workflow, where)))
    return result


class FilterModule(object):
    def filters(self):
        return {
            "awx_job_templates": awx_job_templates,
            "awx_workflow_job_templates": awx_workflow_job_templates,
        }
