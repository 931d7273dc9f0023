# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write each role's README.md from its meta/argument_specs.yml.

Galaxy shows a role's README.md; ansible-doc shows its argument specs. The
README is generated from the specs (description, one options table per entry
point, an example play), so the two say the same thing:

    .venv/bin/python tools/role_readme.py           # rewrite roles/*/README.md
    .venv/bin/python tools/role_readme.py --check   # list the READMEs that differ, exit 1 if any

tests/release/test_role_readmes.py runs the check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROLES = os.path.join(ROOT, "roles")
COLLECTION = "cxpe.rollout"

# The version the examples upgrade to: a release the sample platform (9.0.100.01) may go to under the N-2 policy.
EXAMPLE_VERSION = "9.0.101.02"

# Variables of each role's example play: every required option, and what makes the example mean something. A group
# role (one per catalog group) that is not listed here gets <role>_version.
EXAMPLE_VARS = {
    "platform_deploy": {"platform_deploy_groups": ["gauth", "voice"]},
    "bluegreen": {"bluegreen_namespace": "gws", "bluegreen_service": "gws-chat", "bluegreen_version": EXAMPLE_VERSION},
    "canary": {
        "canary_namespace": "voice",
        "canary_service": "voice-dialplan",
        "canary_version": EXAMPLE_VERSION,
        "canary_routers": [{"kind": "nginx"}],
        "canary_prometheus_url": "http://prometheus.monitoring:9090",
    },
    "rolling": {
        "rolling_namespace": "voice",
        "rolling_kind": "StatefulSet",
        "rolling_name": "voice-sip-cluster",
        "rolling_version": EXAMPLE_VERSION,
        "rolling_prometheus_url": "http://prometheus.monitoring:9090",
        "rolling_sessions_query": 'sum(sip_active_calls{pod="{pod}"})',
    },
    "service_upgrade": {
        "service_upgrade_group": "voice",
        "service_upgrade_strategy": "canary",
        "service_upgrade_namespace": "voice",
        "service_upgrade_service": "voice-dialplan",
        "service_upgrade_version": EXAMPLE_VERSION,
    },
    "preflight": {
        "preflight_namespaces": ["voice"],
        "preflight_priority_classes": ["genesysengage-critical-priority"],
        "preflight_services": [{"namespace": "voice", "service": "voice-dialplan", "version": EXAMPLE_VERSION, "strategy": "canary"}],
    },
    "backup": {"backup_namespaces": ["voice"]},
    "restore": {"restore_file": "cxpe-backups/20261204T101500Z/localhost.yml"},
    "uninstall": {"uninstall_groups": ["designer"]},
}

# The guide in docs/ that tells more about a role than its options.
GUIDES = {
    "bluegreen": "bluegreen.md",
    "canary": "canary.md",
    "rolling": "rolling.md",
    "service_upgrade": "upgrade.md",
    "preflight": "upgrade.md",
    "backup": "upgrade.md",
    "restore": "upgrade.md",
}

_SEMANTIC = re.compile(r"\b(O|V|E|RV)\(((?:[^\\)]+|\\.)+)\)")
_PLUGIN = re.compile(r"\bP\(([^#)]+)#([a-z]+)\)")
_MODULE = re.compile(r"\bM\(([^)]+)\)")
_CODE = re.compile(r"\b[CIB]\(([^)]+)\)")
_LINK = re.compile(r"\bL\(([^)]+), *([^)]+)\)")
_URL = re.compile(r"\bU\(([^)]+)\)")
_FQCN_OPTION = re.compile(r"^([^.]+\.[^.]+\.[^#]+)#([a-z]+):(.*)$")


def _semantic(match):
    """O(), V(), E() and RV() as code; an option of another plugin names it, as ansible-doc does."""
    text = re.sub(r"\\(.)", r"\1", match.group(2))
    fqcn_option = _FQCN_OPTION.match(text)
    if fqcn_option:
        fqcn, kind, name = fqcn_option.groups()
        return "`{0}` (of {1} `{2}`)".format(name, kind, fqcn)
    return "`{0}`".format(text)


def _plugin(match):
    """P(); a role of this collection links to its README, which sits beside this one."""
    fqcn, kind = match.groups()
    if kind == "role" and fqcn.startswith(COLLECTION + "."):
        return "[`{0}`](../{1}/README.md)".format(fqcn, fqcn[len(COLLECTION) + 1:])
    return "`{0}`".format(fqcn)


def markdown(text):
    """Ansible documentation markup as Markdown."""
    text = _LINK.sub(r"[\1](\2)", text)
    text = _URL.sub(r"<\1>", text)
    text = _PLUGIN.sub(_plugin, text)
    text = _MODULE.sub(r"`\1`", text)
    text = _CODE.sub(r"`\1`", text)
    return _SEMANTIC.sub(_semantic, text)


def paragraphs(description):
    if isinstance(description, str):
        return [description]
    return list(description or [])


def flow(value):
    """A value as compact YAML on one line."""
    return yaml.safe_dump(value, default_flow_style=True, width=sys.maxsize, sort_keys=False).strip().removesuffix("\n...").strip()


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def default_text(option):
    if "default" not in option:
        return ""
    default = option["default"]
    if option.get("choices") and default == option["choices"]:
        return "every choice"
    return "`{0}`".format(flow(default))


def type_text(option):
    kind = option.get("type", "str")
    if option.get("elements"):
        return "{0} of {1}".format(kind, option["elements"])
    return kind


def options_table(options):
    lines = ["| Option | Type | Required | Default | Description |", "| --- | --- | --- | --- | --- |"]
    for name, option in options.items():
        description = " ".join(markdown(paragraph) for paragraph in paragraphs(option.get("description")))
        if option.get("choices"):
            description += " Choices: {0}.".format(", ".join("`{0}`".format(flow(choice)) for choice in option["choices"]))
        lines.append("| `{0}` | {1} | {2} | {3} | {4} |".format(
            name, type_text(option), "yes" if option.get("required") else "no", cell(default_text(option)), cell(description)))
    return lines


def example_vars(role, options):
    """The example play's variables; refuses a required option the example lacks, or a variable that is no option."""
    variables = EXAMPLE_VARS.get(role, {"{0}_version".format(role): EXAMPLE_VERSION})
    unknown = sorted(set(variables) - set(options))
    missing = sorted(name for name, option in options.items() if option.get("required") and name not in variables)
    if unknown or missing:
        raise ValueError("roles/{0}: the example sets {1}, not options; it lacks the required {2}".format(role, unknown, missing))
    return variables


class _PlaybookDumper(yaml.SafeDumper):
    """Indents lists under their key, and double-quotes templates, as this collection's playbooks are written."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_PlaybookDumper, self).increase_indent(flow, False)


def _represent_str(dumper, text):
    style = '"' if "{{" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_PlaybookDumper.add_representer(str, _represent_str)


def example_play(role, short_description, variables):
    """A play that runs the role on every cluster of an inventory, reaching each as this collection's playbooks do."""
    play = [{
        "name": short_description,
        "hosts": "all",
        "gather_facts": False,
        "module_defaults": {
            "group/kubernetes.core.k8s": {
                "kubeconfig": "{{ cxpe_kubeconfig | default(omit) }}",
                "context": "{{ cxpe_context | default(omit) }}",
            },
            "group/cxpe.rollout.k8s": {
                "kubeconfig": "{{ cxpe_kubeconfig | default(omit) }}",
                "context": "{{ cxpe_context | default(omit) }}",
            },
        },
        "roles": [{"role": "{0}.{1}".format(COLLECTION, role), "vars": variables}],
    }]
    return "---\n" + yaml.dump(play, Dumper=_PlaybookDumper, default_flow_style=False, width=120, sort_keys=False)


def render(role):
    """The README.md of a role, from its meta/argument_specs.yml."""
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as stream:
        entry_points = yaml.safe_load(stream)["argument_specs"]
    main = entry_points["main"]
    lines = ["# {0}.{1}".format(COLLECTION, role), "", markdown(main["short_description"]) + ".", ""]
    several = len(entry_points) > 1
    for entry_point, spec in entry_points.items():
        if several:
            lines += ["## Entry point `{0}`".format(entry_point), "", markdown(spec["short_description"]) + ".", ""]
        for paragraph in paragraphs(spec.get("description")):
            lines += [markdown(paragraph), ""]
        lines += ["#" * (3 if several else 2) + " Options", ""]
        lines += options_table(spec.get("options") or {}) + [""]
    variables = example_vars(role, main.get("options") or {})
    lines += ["## Example", "", "```yaml", example_play(role, main["short_description"], variables).rstrip(), "```", ""]
    see_also = "`ansible-doc -t role {0}.{1}` shows the same documentation".format(COLLECTION, role)
    if role in GUIDES:
        see_also += "; [docs/{0}](../../docs/{0}) is the guide".format(GUIDES[role])
    lines += [see_also + ". The [collection's README](../../README.md) lists every role, module and playbook.", ""]
    return "\n".join(lines)


def roles():
    return sorted(role for role in os.listdir(ROLES) if os.path.isfile(os.path.join(ROLES, role, "meta", "argument_specs.yml")))


def readme_path(role):
    return os.path.join(ROLES, role, "README.md")


def stale_readmes():
    """The roles whose README.md is not what render() writes."""
    stale = []
    for role in roles():
        try:
            with open(readme_path(role), encoding="utf-8") as stream:
                written = stream.read()
        except FileNotFoundError:
            written = None
        if written != render(role):
            stale.append(role)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; list the READMEs that differ and exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_readmes()
        for role in stale:
            print("roles/{0}/README.md differs from its argument specs; run tools/role_readme.py".format(role))
        return 1 if stale else 0
    for role in roles():
        with open(readme_path(role), "w", encoding="utf-8") as stream:
            stream.write(render(role))
    return 0


if __name__ == "__main__":
    sys.exit(main())
