# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the collection's playbooks, roles and modules through the real ansible-playbook."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
INVENTORY = os.path.join(ROOT, "inventories", "demo")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
RECAP = re.compile(r"^localhost\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.M)


def run_playbook(environment, playbook, *args):
    """Run ansible-playbook on the demo inventory; (CompletedProcess, recap counts)."""
    env = dict(environment, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", INVENTORY, playbook] + list(args),
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    recap = RECAP.search(result.stdout)
    counts = dict((key, int(value)) for key, value in recap.groupdict().items()) if recap else {}
    return result, counts


def run_ok(simulator, name, *args):
    """Run the collection's playbook `name` on the demo inventory against `simulator`; fails the test unless it passes."""
    result, counts = run_playbook(simulator.env, "cxpe.rollout." + name, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, counts


def deploy_groups(simulator, groups):
    """The sample platform's `groups`, one pod per Deployment."""
    run_ok(simulator, "deploy_platform", "-e", json.dumps({"platform_deploy_groups": groups, "platform_deploy_replicas": 1}))


def write_play(path, tasks):
    """Write a playbook of one play of ``tasks`` on localhost to ``path``; returns the path."""
    with open(str(path), "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    return str(path)


def run_tasks(environment, workdir, tasks, *args):
    """Run module calls in one play; returns (CompletedProcess, [each task's registered result]).

    `tasks` are (module, arguments) pairs. Each result is saved whatever it
    is (failures included), so a test can check several refusals in one run.
    """
    results_path = os.path.join(str(workdir), "results.json")
    play_tasks = [{"name": "task %d" % index, module: arguments, "register": "result_%d" % index, "ignore_errors": True}
                  for index, (module, arguments) in enumerate(tasks)]
    names = ", ".join("result_%d" % index for index in range(len(tasks)))
    play_tasks.append({"name": "save the results", "check_mode": False, "ansible.builtin.copy": {
        "dest": results_path, "mode": "0600", "content": "{{ [%s] | to_json }}" % names}})
    playbook = write_play(os.path.join(str(workdir), "play.yml"), play_tasks)
    result, _counts = run_playbook(environment, playbook, *args)
    assert os.path.exists(results_path), result.stdout + result.stderr
    with open(results_path, encoding="utf-8") as handle:
        return result, json.load(handle)
