# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the strategies and the platform playbooks as the service account of the cxpe.rollout.rbac playbook, on a
simulator started with rbac_kubesim_factory: the playbook applied as the admin, then a kubeconfig of the account for
the play; and judging the account's requests from the simulator's audit log: which rule allows each one, and whether
it is refused once that rule is taken out (replayed as the account)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import urllib.parse

import kubernetes
import yaml
from kubernetes.client.rest import ApiException
from kubesim.api.rbac import Attributes, rule_allows
from kubesim.api.users import UserInfo
from kubesim.kubeconfig import service_account_kubeconfig
from playbook_support import ROOT, run_ok

RULES_FILE = os.path.join(ROOT, "data", "rbac.yml")
ACCOUNT = "cxpe-rollout"
ACCOUNT_NAMESPACE = "cxpe-rollout"
USERNAME = "system:serviceaccount:%s:%s" % (ACCOUNT_NAMESPACE, ACCOUNT)
# A replayed request: the method of each verb; a witness is preferably a read, and a watch (which streams) last.
METHODS = {"get": "GET", "list": "GET", "watch": "GET", "create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE",
           "deletecollection": "DELETE"}
WITNESS_ORDER = ("get", "list", "patch", "update", "create", "delete", "deletecollection", "watch")
REFUSED = (401, 403)


def rbac_data():
    """data/rbac.yml: its strategies' rules (rbac_rules) and the platform's (rbac_platform_rules), each rule with its `why`."""
    with open(RULES_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def strategy_rules():
    """{strategy: [rule]} of data/rbac.yml, each rule with its `why`."""
    return rbac_data()["rbac_rules"]


def role_name(strategy):
    """The name of a strategy's Role (and RoleBinding) in each namespace, as the playbook names it."""
    return "cxpe-rollout-" + strategy.replace("_", "-")


def account_env(simulator, workdir, namespaces, **variables):
    """Apply cxpe.rollout.rbac as the admin with `namespaces` ({strategy: [namespace]}) and none of the catalog's, unless
    `variables` (more of the playbook's variables) say otherwise; the environment of a play run as its service account."""
    run_ok(simulator, "rbac", "-e", json.dumps(dict({"rbac_catalog_namespaces": False, "rbac_namespaces": namespaces}, **variables)))
    path = service_account_kubeconfig(simulator.kubeconfig, os.path.join(str(workdir), "%s.kubeconfig" % ACCOUNT), ACCOUNT_NAMESPACE, ACCOUNT)
    return dict(simulator.env, KUBECONFIG=path, K8S_AUTH_KUBECONFIG=path)


def account_events(audit_log):
    """The audit events of the account's requests, once each (when its response completed)."""
    with open(str(audit_log), encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    return [event for event in events if event["stage"] == "ResponseComplete" and event["user"].get("username") == USERNAME]


def refused(events):
    """(verb, URI, message) of each request that was refused."""
    return [(event["verb"], event["requestURI"], event["responseStatus"].get("message")) for event in events
            if event["responseStatus"]["code"] in REFUSED]


def namespace_of(event):
    return (event.get("objectRef") or {}).get("namespace")


def attributes(event):
    """The RBAC attributes of an audited request (its objectRef is what the URL names)."""
    ref = event["objectRef"]
    return Attributes(UserInfo(USERNAME), event["verb"], namespace=ref.get("namespace", ""), group=ref.get("apiGroup", ""),
                      version=ref.get("apiVersion", ""), resource=ref["resource"], subresource=ref.get("subresource", ""),
                      name=ref.get("name", ""))


def plain(rule):
    """A rule as the Role holds it: without its `why`."""
    return dict((key, value) for key, value in rule.items() if key != "why")


def rule_id(owner, rule):
    return "%s:%s/%s" % (owner, rule["apiGroups"][0] or "core", rule["resources"][0])


def guide_table(rules):
    """The table of docs/rbac.md that shows `rules`, and the blank line after it."""
    return "\n".join(["| API group | resource | verbs | needed by |", "| --- | --- | --- | --- |"] + [
        "| `%s` | `%s` | %s | %s |" % (rule["apiGroups"][0] or '""', rule["resources"][0], ", ".join(rule["verbs"]), " ".join(rule["why"].split()))
        for rule in rules]) + "\n\n"


def witness(events, rules, rule):
    """A request of `events` that was allowed, and that `rule` allows and no other rule of `rules` (all plain) does,
    judged by kubesim's RBAC rule matching: preferably a read (WITNESS_ORDER); None when there is none."""
    only_this = [event for event in events if event.get("objectRef") and event["responseStatus"]["code"] not in REFUSED
                 and [each for each in rules if rule_allows(attributes(event), each)] == [plain(rule)]]
    return min(only_this, key=lambda event: WITNESS_ORDER.index(event["verb"])) if only_this else None


def replay(client, event):
    """Send an audited request again as the account (a write as a dry run, which is authorized as the write itself);
    its HTTP status."""
    path, _separator, query = event["requestURI"].partition("?")
    params = urllib.parse.parse_qsl(query)
    method = METHODS[event["verb"]]
    headers, body = {"Accept": "application/json"}, None
    if event["verb"] == "watch":
        params = [(key, value) for key, value in params if key != "timeoutSeconds"] + [("timeoutSeconds", "1")]
    if method != "GET":
        params.append(("dryRun", "All"))
        headers["Content-Type"] = "application/merge-patch+json" if method == "PATCH" else "application/json"
        body = {}
    request = client.param_serialize(method, path, query_params=params, header_params=headers, body=body, auth_settings=["BearerToken"])
    try:
        response = client.call_api(*request, _request_timeout=30)
    except ApiException as error:
        return error.status
    response.read()
    return response.status


def api_client(kubeconfig):
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    return kubernetes.client.ApiClient(configuration)
