# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX surveys of extensions/awx/job_templates.yml against what consumes their answers.

Each question of a job template names its `spec`: an option of a role's
argument specs, or a variable a playbook reads with a default. The checker
below holds the question to it - the option or variable exists and the
template's playbook reaches it, the AWX type fits the spec's type, the choices
are the spec's (the catalog's groups for a list of group names), a required
option is a required question, and the default is the spec's, or none when the
spec computes it at run time. A workflow's questions are held to the questions
of the same variable in its nodes' templates, and a node's extra data to its
template's survey. The last tests run the checker on copies of the roles and
playbooks with one thing changed, and expect it to say so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import copy
import functools
import os
import re
import shutil

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TEMPLATES = os.path.join("extensions", "awx", "job_templates.yml")

# The spec types each AWX question type can give a value of. A multiplechoice of "true" and "false" gives a
# boolean's value as a string, which argument spec validation and `| bool` both take.
FITTING_TYPES = {
    "text": ("str", "path"),
    "textarea": ("str",),
    "integer": ("int",),
    "float": ("float",),
    "multiplechoice": ("str", "bool"),
    "multiselect": ("list",),
}
CHOICE_TYPES = ("multiplechoice", "multiselect")
BOOLEAN_CHOICES = ["true", "false"]
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role")
IMPORT_PLAYBOOK = ("ansible.builtin.import_playbook", "import_playbook")
TASK_SECTIONS = ("pre_tasks", "tasks", "post_tasks", "handlers")
JINJA_CONSTANTS = {"none": None, "None": None, "true": True, "True": True, "false": False, "False": False}
# A default the playbook or role computes when it runs (a lookup, the time, another variable).
COMPUTED = "computed at run time"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as Ansible reads it, as far as these files go: `!unsafe` marks a string Ansible must not template."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def read_yaml(path):
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_Loader)  # nosec - a SafeLoader with one more tag


@functools.lru_cache(maxsize=None)
def _parsed(path, mtime_ns):
    return read_yaml(path)


def parsed(path):
    """A role's or playbook's YAML, read once while it is unchanged; not to be modified."""
    return _parsed(path, os.stat(path).st_mtime_ns)


def catalog_groups(root):
    """The catalog's group names in deployment order, as the service_catalog lookup returns them (by step, then as
    the catalog lists them)."""
    groups = parsed(os.path.join(root, "data", "service_catalog.yml"))["groups"]
    return [group["name"] for group in sorted(groups, key=lambda group: group["step"])]


# ------------------------------------------------------------------ what a playbook runs ----

def _role_names(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in INCLUDE_ROLE:
            if key in task:
                yield task[key]["name"]
        for section in ("block", "rescue", "always"):
            yield from _role_names(task.get(section))


def _roles_named(root, name):
    """The collection's roles a role name may be: a templated part (cxpe.rollout.{{ group }}) matches any name."""
    pattern = "".join(".*" if part.startswith("{{") else re.escape(part) for part in re.split(r"({{.*?}})", name) if part)
    return set(role for role in os.listdir(os.path.join(root, "roles"))
               if re.fullmatch(pattern, "cxpe.rollout." + role) or re.fullmatch(pattern, role))


def reach(root, playbook):
    """(playbook paths, role names) that a playbook runs: the playbooks it imports, the roles they run or include,
    and the roles those include or depend on."""
    playbooks, names = set(), set()
    pending = [os.path.normpath(os.path.join(root, playbook))]
    while pending:
        path = pending.pop()
        if path in playbooks:
            continue
        playbooks.add(path)
        for play in parsed(path) or []:
            pending.extend(os.path.normpath(os.path.join(os.path.dirname(path), play[key])) for key in IMPORT_PLAYBOOK if key in play)
            names.update(entry if isinstance(entry, str) else entry.get("role", entry.get("name")) for entry in play.get("roles") or [])
            for section in TASK_SECTIONS:
                names.update(_role_names(play.get(section)))
    roles, pending_roles = set(), set()
    for name in names:
        pending_roles.update(_roles_named(root, name))
    while pending_roles:
        role = pending_roles.pop()
        roles.add(role)
        role_dir = os.path.join(root, "roles", role)
        found = set()
        tasks_dir = os.path.join(role_dir, "tasks")
        for tasks_file in sorted(os.listdir(tasks_dir)) if os.path.isdir(tasks_dir) else []:
            found.update(_role_names(parsed(os.path.join(tasks_dir, tasks_file))))
        meta = os.path.join(role_dir, "meta", "main.yml")
        dependencies = (parsed(meta) or {}).get("dependencies") or [] if os.path.isfile(meta) else []
        found.update(entry if isinstance(entry, str) else entry.get("role", entry.get("name")) for entry in dependencies)
        for name in found:
            pending_roles.update(_roles_named(root, name) - roles)
    return set(os.path.relpath(path, root) for path in playbooks), roles


# ------------------------------------------------------------------ what a spec says ----

def _literal(text):
    """The value of a Jinja literal, or COMPUTED."""
    text = text.strip()
    if text in JINJA_CONSTANTS:
        return JINJA_CONSTANTS[text]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return COMPUTED


def _type_of(value):
    if isinstance(value, bool):
        return "bool"
    for python_type, name in ((list, "list"), (dict, "dict"), (int, "int"), (float, "float")):
        if isinstance(value, python_type):
            return name
    # A string, or none: an optional scalar.
    return "str"


def _default_calls(text, variable):
    """(argument, followed by `| bool`) of every `variable | default(argument)` in a playbook's text."""
    for match in re.finditer(r"\b%s\s*\|\s*default\(" % re.escape(variable), text):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        yield text[match.end():end - 1], re.match(r"\s*\|\s*bool\b", text[end:]) is not None


def playbook_spec(root, playbook, variable):
    """What playbook reads of variable: {type, required, default}, or a problem."""
    path = os.path.join(root, playbook)
    if not os.path.isfile(path):
        return "no playbook %s" % playbook
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    readings = []
    for argument, is_bool in _default_calls(text, variable):
        default = _literal(argument)
        readings.append({"type": "bool" if is_bool else _type_of(default), "default": default})
    for play in parsed(path) or []:
        if variable in (play.get("vars") or {}):
            value = play["vars"][variable]
            default = COMPUTED if isinstance(value, str) and "{{" in value else value
            readings.append({"type": _type_of(default), "default": default})
    if not readings:
        return "%s does not read %s with a default" % (playbook, variable)
    if any(reading != readings[0] for reading in readings[1:]):
        return "%s reads %s with different defaults: %s" % (playbook, variable, readings)
    return dict(readings[0], required=False, choices=None)


def role_spec(root, role, entry_point, option):
    """An option of a role's argument specs: {type, required, default, choices}, or a problem."""
    path = os.path.join(root, "roles", role, "meta", "argument_specs.yml")
    if not os.path.isfile(path):
        return "no role %s with argument specs" % role
    options = ((parsed(path)["argument_specs"].get(entry_point) or {}).get("options")) or {}
    if option not in options:
        return "role %s has no option %s (entry point %s)" % (role, option, entry_point)
    spec = options[option]
    defaults_path = os.path.join(root, "roles", role, "defaults", "main.yml")
    defaults = (parsed(defaults_path) or {}) if os.path.isfile(defaults_path) else {}
    computed = isinstance(defaults.get(option), str) and "{{" in defaults[option]
    return {
        "type": spec.get("type", "str"),
        "required": bool(spec.get("required", False)),
        "default": COMPUTED if computed else spec.get("default"),
        "choices": spec.get("choices"),
    }


# ------------------------------------------------------------------ the comparisons ----

def _normalized(kind, value):
    """A survey answer or a spec value, compared as the playbook sees it; an empty value is no value."""
    if value in (None, "", []):
        return None
    if kind == "multiplechoice" and value in BOOLEAN_CHOICES:
        return value == "true"
    if kind in ("integer", "float"):
        return float(value)
    return value


def question_problems(question, spec, groups):
    """What keeps a question from agreeing with its spec."""
    problems = []
    kind = question["type"]
    if spec["type"] not in FITTING_TYPES.get(kind, ()):
        problems.append("a %s question cannot give the %s the spec wants" % (kind, spec["type"]))
    expected_choices = spec["choices"]
    if spec["type"] == "bool":
        expected_choices = BOOLEAN_CHOICES
    elif question.get("_choices_from") == "catalog_groups":
        expected_choices = groups
    choices = question.get("choices")
    if kind in CHOICE_TYPES:
        if not expected_choices:
            problems.append("asks a choice among %s where the spec takes any value" % choices)
        elif spec["type"] == "bool" and sorted(choices or []) != sorted(BOOLEAN_CHOICES):
            problems.append("a boolean is asked as the choice of %s" % BOOLEAN_CHOICES)
        elif spec["type"] != "bool" and list(choices or []) != list(expected_choices):
            problems.append("choices %s are not the spec's %s" % (choices, expected_choices))
    elif expected_choices:
        problems.append("the spec takes only %s: ask a multiplechoice" % (expected_choices,))
    if spec["required"] and not question.get("required"):
        problems.append("the spec requires it; the question is optional")
    default = question.get("default")
    if spec["default"] == COMPUTED:
        if default is not None:
            problems.append("the spec computes its default at run time; the survey's %r would replace it" % (default,))
    elif _normalized(kind, default) != _normalized(kind, spec["default"]) and not (default is None and question.get("required")):
        problems.append("default %r is not the spec's %r" % (default, spec["default"]))
    return problems


def _spec_of(root, question, reached_playbooks, reached_roles):
    source = question.get("spec")
    if not isinstance(source, dict):
        return "it names no spec"
    if "role" in source:
        if source["role"] not in reached_roles:
            return "role %s is not run by the template's playbook" % source["role"]
        return role_spec(root, source["role"], source.get("entry_point", "main"), source.get("option", question["variable"]))
    if "playbook" in source:
        if os.path.normpath(source["playbook"]) not in reached_playbooks:
            return "%s is not run by the template's playbook" % source["playbook"]
        return playbook_spec(root, source["playbook"], question["variable"])
    return "its spec %s names neither a role nor a playbook" % source


def check_job_template(root, template, groups):
    problems = []
    if not os.path.isfile(os.path.join(root, template["playbook"])):
        return ["job template %s: no playbook %s" % (template["id"], template["playbook"])]
    reached_playbooks, reached_roles = reach(root, template["playbook"])
    for question in template.get("survey") or []:
        where = "job template %s, question %s" % (template["id"], question["variable"])
        spec = _spec_of(root, question, reached_playbooks, reached_roles)
        if isinstance(spec, str):
            problems.append("%s: %s" % (where, spec))
            continue
        question = dict(question, _choices_from=question["spec"].get("choices_from"))
        problems.extend("%s: %s" % (where, problem) for problem in question_problems(question, spec, groups))
    return problems


def _answer_problem(question, value):
    kind = question["type"]
    if kind in CHOICE_TYPES:
        values = value if kind == "multiselect" and isinstance(value, list) else [value]
        if not all(isinstance(item, str) and item in question["choices"] for item in values):
            return "%r is not among %s" % (value, question["choices"])
    if kind in ("text", "textarea") and not isinstance(value, str):
        return "%r is not a string" % (value,)
    if kind == "integer" and not isinstance(value, int):
        return "%r is not an integer" % (value,)
    return None


def check_workflow(workflow, templates_by_id):
    problems = []
    where = "workflow %s" % workflow["id"]
    surveys = {}
    for node in workflow["nodes"]:
        if "approval" in node:
            # An approval asks nothing and takes no extra data.
            continue
        template = templates_by_id.get(node["job_template"])
        if template is None:
            problems.append("%s, node %s: no job template %s" % (where, node["identifier"], node["job_template"]))
            continue
        survey = dict((question["variable"], question) for question in template.get("survey") or [])
        surveys[node["identifier"]] = survey
        for variable, value in sorted((node.get("extra_data") or {}).items()):
            node_where = "%s, node %s, extra data %s" % (where, node["identifier"], variable)
            if variable in (question["variable"] for question in workflow.get("survey") or []):
                problems.append("%s: the workflow's survey answer replaces it" % node_where)
            if variable in survey:
                problem = _answer_problem(survey[variable], value)
                if problem:
                    problems.append("%s: %s" % (node_where, problem))
            elif not template.get("ask_variables_on_launch"):
                problems.append("%s: template %s neither asks it nor takes variables on launch" % (node_where, template["id"]))
    for question in workflow.get("survey") or []:
        question_where = "%s, question %s" % (where, question["variable"])
        asked = [(node, survey[question["variable"]]) for node, survey in sorted(surveys.items()) if question["variable"] in survey]
        if not asked:
            problems.append("%s: no node's template asks it" % question_where)
        for node, node_question in asked:
            for field in ("type", "choices"):
                if node_question.get(field) != question.get(field):
                    problems.append("%s: %s %r, node %s's template has %r"
                                    % (question_where, field, question.get(field), node, node_question.get(field)))
            if _normalized(question["type"], question.get("default")) != _normalized(question["type"], node_question.get("default")):
                problems.append("%s: default %r, node %s's template has %r"
                                % (question_where, question.get("default"), node, node_question.get("default")))
            if node_question.get("required") and not question.get("required"):
                problems.append("%s: node %s's template requires it; the workflow's question is optional" % (question_where, node))
    return problems


def check(root, data):
    """Every problem of the job templates' and workflows' surveys, as strings naming the template and question."""
    groups = catalog_groups(root)
    templates_by_id = dict((template["id"], template) for template in data.get("job_templates") or [])
    problems = []
    for template in data.get("job_templates") or []:
        problems.extend(check_job_template(root, template, groups))
    for workflow in data.get("workflow_job_templates") or []:
        problems.extend(check_workflow(workflow, templates_by_id))
    return problems


# ------------------------------------------------------------------ the tests ----

@pytest.fixture(name="data")
def data_fixture():
    return read_yaml(os.path.join(ROOT, TEMPLATES))


@pytest.fixture(name="tree")
def tree_fixture(tmp_path):
    """A copy of the roles, playbooks and catalog, for a test to change."""
    for part in ("roles", "playbooks", "data"):
        shutil.copytree(os.path.join(ROOT, part), str(tmp_path / part))
    return tmp_path


def replace_in(path, old, new):
    with open(str(path), encoding="utf-8") as stream:
        text = stream.read()
    assert old in text, "%s does not hold %r" % (path, old)
    with open(str(path), "w", encoding="utf-8") as stream:
        stream.write(text.replace(old, new))


def test_the_surveys_agree_with_their_specs(data):
    assert check(ROOT, data) == []


def test_every_template_asks_something_and_names_its_specs(data):
    for template in data["job_templates"]:
        assert template.get("survey"), template["id"]
        assert all(isinstance(question.get("spec"), dict) for question in template["survey"]), template["id"]


def test_the_upgrade_templates_reach_every_group_role(data):
    # The steps include cxpe.rollout.<group>; each group role passes its version on to service_upgrade.
    templates = dict((template["id"], template) for template in data["job_templates"])
    for template_id in ("upgrade", "upgrade_groups", "rollback"):
        roles = reach(ROOT, templates[template_id]["playbook"])[1]
        assert set(catalog_groups(ROOT)) | {"service_upgrade", "preflight", "backup"} <= roles


def test_a_renamed_role_option_is_reported(tree, data):
    replace_in(tree / "roles" / "backup" / "meta" / "argument_specs.yml", "      backup_dir:", "      backup_directory:")
    problems = check(str(tree), data)
    assert "job template upgrade, question backup_dir: role backup has no option backup_dir (entry point main)" in problems
    # Every template that asks it.
    assert len([problem for problem in problems if "role backup has no option backup_dir" in problem]) == 4
    assert all("backup_dir" in problem for problem in problems)


@pytest.mark.parametrize("path, old, new, expected", [
    # A role default that changes: the survey would offer the old one.
    (("roles", "preflight", "meta", "argument_specs.yml"), "        type: int\n        default: 2", "        type: int\n        default: 3",
     "job template preflight, question preflight_max_release_gap: default 2 is not the spec's 3"),
    # An option that becomes required.
    (("roles", "backup", "meta", "argument_specs.yml"), "        type: str\n        default: \"<the UTC time",
     "        type: str\n        required: true\n        default: \"<the UTC time",
     "job template backup, question backup_name: the spec requires it; the question is optional"),
    # An option whose type changes.
    (("roles", "preflight", "meta", "argument_specs.yml"), "        type: float\n        default: 3", "        type: int\n        default: 3",
     "job template preflight, question preflight_endpoint_timeout: a float question cannot give the int the spec wants"),
    # A role default computed at run time, where the survey has a literal.
    (("roles", "preflight", "defaults", "main.yml"), 'preflight_min_kubernetes_version: "1.27"',
     "preflight_min_kubernetes_version: \"{{ cxpe_min_kubernetes_version | default('1.27') }}\"",
     "job template preflight, question preflight_min_kubernetes_version: the spec computes its default at run time; the survey's '1.27' would"
     " replace it"),
    # A playbook that stops reading a variable.
    (("playbooks", "upgrade_plan.yml"), "cxpe_upgrade_backup | default(true) | bool", "cxpe_backup_first | default(true) | bool",
     "job template upgrade, question cxpe_upgrade_backup: playbooks/upgrade_plan.yml does not read cxpe_upgrade_backup with a default"),
    # A playbook default that changes.
    (("playbooks", "upgrade_plan.yml"), "cxpe_upgrade_preflight | default(true) | bool", "cxpe_upgrade_preflight | default(false) | bool",
     "job template upgrade, question cxpe_upgrade_preflight: default 'true' is not the spec's False"),
    # A playbook that no longer runs a role.
    (("playbooks", "preflight.yml"), "    - role: cxpe.rollout.preflight", "    - role: cxpe.rollout.backup",
     "job template preflight, question preflight_min_kubernetes_version: role preflight is not run by the template's playbook"),
])
def test_a_changed_spec_is_reported(tree, data, path, old, new, expected):
    replace_in(tree.joinpath(*path), old, new)
    assert expected in check(str(tree), data)


def test_a_new_catalog_group_is_reported(tree, data):
    replace_in(tree / "data" / "service_catalog.yml", "\ngroups:\n", "\ngroups:\n  - {name: extra, step: 9}\n")
    problems = check(str(tree), data)
    assert [problem for problem in problems if problem.startswith("job template upgrade_groups, question cxpe_groups: choices")]
    assert len(problems) == 6


def test_a_question_without_a_spec_is_reported(data):
    del data["job_templates"][0]["survey"][0]["spec"]
    assert check(ROOT, data) == ["job template upgrade, question cxpe_version: it names no spec"]


def test_a_workflow_question_unlike_its_nodes_is_reported(data):
    changed = copy.deepcopy(data)
    # The workflows share their survey (a YAML alias): this changes the first's only.
    survey = changed["workflow_job_templates"][0]["survey"] = copy.deepcopy(changed["workflow_job_templates"][0]["survey"])
    survey[0]["required"] = False
    survey[1]["choices"] = survey[1]["choices"][:-1]
    survey.append({"variable": "cxpe_upgrade_waves", "question": "Waves", "type": "text"})
    assert check(ROOT, changed) == [
        "workflow preflight_backup_upgrade, question cxpe_version: node upgrade's template requires it; the workflow's question is optional",
        "workflow preflight_backup_upgrade, question cxpe_groups: choices %r, node backup's template has %r"
        % (survey[1]["choices"], data["workflow_job_templates"][0]["survey"][1]["choices"]),
        "workflow preflight_backup_upgrade, question cxpe_groups: choices %r, node preflight's template has %r"
        % (survey[1]["choices"], data["workflow_job_templates"][0]["survey"][1]["choices"]),
        "workflow preflight_backup_upgrade, question cxpe_upgrade_waves: no node's template asks it",
    ]


def test_node_extra_data_its_template_refuses_is_reported(data):
    nodes = data["workflow_job_templates"][0]["nodes"]
    nodes[2]["extra_data"]["cxpe_upgrade_backup"] = "no"
    nodes[0]["extra_data"] = {"cxpe_versions": {"voice-dialplan": "9.0.101.03"}}
    assert check(ROOT, data) == [
        "workflow preflight_backup_upgrade, node preflight, extra data cxpe_versions: template preflight neither asks it nor takes variables on launch",
        "workflow preflight_backup_upgrade, node upgrade, extra data cxpe_upgrade_backup: 'no' is not among ['true', 'false']",
    ]


def test_the_guide_names_every_template_and_what_it_asks(data):
    with open(os.path.join(ROOT, "docs", "awx.md"), encoding="utf-8") as stream:
        guide = stream.read()
    rows = dict((template["name"], [line for line in guide.splitlines() if line.startswith("| `%s` |" % template["name"])])
                for template in data["job_templates"])
    for template in data["job_templates"]:
        assert len(rows[template["name"]]) == 1, template["name"]
        row = rows[template["name"]][0]
        assert "`%s`" % template["playbook"] in row
        assert [question["variable"] for question in template["survey"] if "`%s`" % question["variable"] not in row] == []
    for workflow in data["workflow_job_templates"]:
        section = guide.split("`%s`" % workflow["name"], 1)[1]
        assert [question["variable"] for question in workflow["survey"] if "`%s`" % question["variable"] not in section] == []
