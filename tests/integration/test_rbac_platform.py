# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform's grant (data/rbac.yml, rbac_platform_rules) is exactly what cxpe.rollout.upgrade and
cxpe.rollout.rollback need besides the strategies' Roles.

Two catalog groups are deployed on a simulator that authorizes by RBAC and writes kube-apiserver's audit log, and the
cxpe.rollout.rbac playbook grants the service account the platform's ClusterRole and Roles alone, no strategy's Role.
The account then runs cxpe.rollout.upgrade to the version the groups run: its plan's preflight and backup, the group
roles' service_status reads and the rollout report's data - everything but the strategies, which a service already at
its target does not start (the same plays make cxpe.rollout.rollback). Then, as test_rbac_rules.py shows for the
strategies:

- nothing is missing: the run passes and no request of the account was refused;
- nothing is more than needed: for each rule of the ClusterRole and of the Role, a request of the run that this rule
  allows and no other rule of the grant does, which is allowed with it, and refused (403) once the ClusterRole, or the
  Role of the request's namespace, is applied without that rule (replayed as the account).

The standalone preflight, backup, platform_status, rollout_status and report playbooks run under the same grant,
restricted to the groups by cxpe_groups. The rbac playbook applied again in check mode changes nothing, and reports the
objects of a namespace still to make.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

import kubernetes
import pytest
from playbook_support import ROOT, deploy_groups, run_playbook
from service_account_support import (ACCOUNT, ACCOUNT_NAMESPACE, account_env, account_events, api_client, guide_table, namespace_of, plain, rbac_data, refused,
                                     replay, rule_id, witness)

TIME_SCALE = 50
# A rolling_update group and a canary one, each of one service, in a namespace of their own.
GROUPS = ["ges", "tenant"]
NAMESPACES = ["ges", "voice"]
SERVICES = ["ges", "tenant-service"]
# What platform_deploy runs a service it deploys for the first time.
RUNNING = "9.0.100.01"
PLATFORM = "cxpe-rollout-platform"
RULES = rbac_data()["rbac_platform_rules"]
SCOPES = [(scope, rule) for scope in ("cluster", "namespaced") for rule in RULES[scope]]


@pytest.fixture(scope="module")
def audited(module_rbac_kubesim_factory, tmp_path_factory):
    """The upgrade run as the service account: (simulator, the account's environment, the run, its summary, the
    audit events of the account's requests, the workdir)."""
    workdir = tmp_path_factory.mktemp("rbac-platform")
    audit_log = workdir / "audit.log"
    simulator = module_rbac_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--audit-log-path", str(audit_log)])
    deploy_groups(simulator, GROUPS)
    env = account_env(simulator, workdir, {}, rbac_catalog_namespaces=True, cxpe_groups=GROUPS, rbac_strategies=[])
    reports = workdir / "reports"
    result, counts = run_playbook(env, "cxpe.rollout.upgrade", "-e", json.dumps({
        "cxpe_version": RUNNING, "cxpe_groups": GROUPS, "cxpe_upgrade_report_dir": str(reports), "backup_dir": str(workdir / "backups")}))
    summaries = glob.glob(str(reports / "*-summary.json"))
    summary = None
    if summaries:
        with open(summaries[0], encoding="utf-8") as handle:
            summary = json.load(handle)
    return simulator, env, (result, counts), summary, account_events(audit_log), workdir


def set_rules(rbac, scope, namespace, rules):
    """Give the ClusterRole (scope `cluster`), or the Role of `namespace`, these rules (replaced as a whole by a patch)."""
    if scope == "cluster":
        rbac.patch_cluster_role(PLATFORM, {"rules": rules})
    else:
        rbac.patch_namespaced_role(PLATFORM, namespace, {"rules": rules})


def test_the_upgrade_passes_and_no_request_of_the_account_is_refused(audited):
    _simulator, _env, (result, counts), summary, events, workdir = audited
    assert result.returncode == 0 and counts["failed"] == 0, result.stdout[-6000:] + result.stderr
    # Every service already runs its target: no strategy started, so the run needed nothing but the platform's grant.
    assert sorted((row["service"], row["result"]) for row in summary["rows"]) == [(service, "unchanged") for service in SERVICES]
    assert glob.glob(str(workdir / "backups" / "*" / "localhost.yml"))
    # The report's data is gathered (a failure there is rescued, and would not fail the run).
    assert "Keep why the unit has no data" not in result.stdout
    assert sorted(set(namespace_of(event) for event in events) - {None}) == NAMESPACES
    assert not refused(events)


def test_the_playbook_grants_the_platform_in_the_namespaces_of_the_groups_and_applied_again_changes_nothing(audited):
    simulator, _env, _run, _summary, _events, _workdir = audited
    client = api_client(simulator.kubeconfig)
    rbac = kubernetes.client.RbacAuthorizationV1Api(client)

    def rules_of(role):
        return client.sanitize_for_serialization(role)["rules"]

    assert rules_of(rbac.read_cluster_role(PLATFORM)) == [plain(rule) for rule in RULES["cluster"]]
    (subject,) = rbac.read_cluster_role_binding(PLATFORM).subjects
    assert (subject.kind, subject.namespace, subject.name) == ("ServiceAccount", ACCOUNT_NAMESPACE, ACCOUNT)
    roles = rbac.list_role_for_all_namespaces(label_selector="app.kubernetes.io/managed-by=cxpe.rollout").items
    assert sorted((role.metadata.namespace, role.metadata.name) for role in roles) == [(namespace, PLATFORM) for namespace in NAMESPACES]
    for role in roles:
        assert rules_of(role) == [plain(rule) for rule in RULES["namespaced"]]
    result, counts = run_playbook(simulator.env, "cxpe.rollout.rbac", "--check", "-e", json.dumps(
        {"cxpe_groups": GROUPS, "rbac_strategies": []}))
    assert result.returncode == 0 and counts["changed"] == 0, result.stdout + result.stderr
    assert "platform in ges, voice, with the namespaces and PriorityClasses" in result.stdout


def test_check_mode_for_an_account_in_a_namespace_still_to_make_reports_it_and_writes_nothing(audited):
    simulator, _env, _run, _summary, _events, _workdir = audited
    before = simulator.kubectl("get", "clusterrolebinding", PLATFORM, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    result, counts = run_playbook(simulator.env, "cxpe.rollout.rbac", "--check", "-e", json.dumps(
        {"cxpe_groups": GROUPS, "rbac_strategies": [], "rbac_service_account_namespace": "automation"}))
    # A dry-run create of the ServiceAccount would be refused: its namespace does not exist yet.
    assert result.returncode == 0 and counts["changed"] > 0, result.stdout + result.stderr
    assert "Would also create, in namespaces that do not exist yet: ServiceAccount automation/%s" % ACCOUNT in result.stdout
    assert simulator.kubectl("get", "namespace", "automation", check=False).returncode != 0
    assert simulator.kubectl("get", "clusterrolebinding", PLATFORM, "-o", "jsonpath={.metadata.resourceVersion}").stdout == before


def test_the_standalone_preflight_backup_status_and_report_playbooks_run_under_the_grant_restricted_by_cxpe_groups(audited):
    _simulator, env, _run, _summary, _events, workdir = audited
    before = len(account_events(workdir / "audit.log"))
    # cxpe_groups alone restricts each of them: a read in a namespace of another group would be refused.
    groups = json.dumps({"cxpe_groups": GROUPS, "cxpe_version": RUNNING, "backup_dir": str(workdir / "standalone-backups"),
                         "cxpe_report_dest": str(workdir / "standalone-report.html")})
    for playbook in ("cxpe.rollout.preflight", "cxpe.rollout.backup", "cxpe.rollout.platform_status", "cxpe.rollout.rollout_status",
                     "cxpe.rollout.report"):
        result, counts = run_playbook(env, playbook, "-e", groups)
        assert result.returncode == 0 and counts["failed"] == 0, playbook + result.stdout[-4000:] + result.stderr
        # The report rescues a unit whose data it cannot read, and would pass without it.
        assert "Keep why the unit has no data" not in result.stdout, playbook + result.stdout[-4000:]
    assert glob.glob(str(workdir / "standalone-backups" / "*" / "localhost.yml"))
    assert (workdir / "standalone-report.html").stat().st_size > 0
    later = account_events(workdir / "audit.log")[before:]
    assert later and not refused(later)


def test_a_status_of_a_group_outside_the_grant_fails_naming_the_refused_read(audited):
    _simulator, env, _run, _summary, _events, _workdir = audited
    result, _counts = run_playbook(env, "cxpe.rollout.platform_status", "-e", json.dumps({"cxpe_groups": ["gauth"]}))
    assert result.returncode != 0
    assert ('cannot list Deployments in gauth: deployments.apps is forbidden: User \\"system:serviceaccount:%s:%s\\" cannot list'
            % (ACCOUNT_NAMESPACE, ACCOUNT)) in result.stdout, result.stdout[-3000:]


def test_the_guide_shows_the_platform_rules():
    with open(os.path.join(ROOT, "docs", "rbac.md"), encoding="utf-8") as handle:
        guide = handle.read()
    for scope in ("cluster", "namespaced"):
        assert guide_table(RULES[scope]) in guide, scope


@pytest.mark.parametrize("scope, rule", SCOPES, ids=[rule_id(scope, rule) for scope, rule in SCOPES])
def test_each_rule_is_needed(audited, scope, rule):
    simulator, env, _run, _summary, events, _workdir = audited
    assert rule["why"].strip(), "every rule says which module or task needs it"
    rules = dict((each, [plain(one) for one in RULES[each]]) for each in RULES)
    request = witness(events, rules["cluster"] + rules["namespaced"], rule)
    assert request, "no request of the run needs %s" % plain(rule)
    account = api_client(env["K8S_AUTH_KUBECONFIG"])
    rbac = kubernetes.client.RbacAuthorizationV1Api(api_client(simulator.kubeconfig))
    assert replay(account, request) not in (401, 403), request
    set_rules(rbac, scope, namespace_of(request), [each for each in rules[scope] if each != plain(rule)])
    try:
        assert replay(account, request) == 403, request
    finally:
        set_rules(rbac, scope, namespace_of(request), rules[scope])
