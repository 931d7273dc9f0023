# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cxpe.rollout.plugins.module_utils.platform_state import observed_state, running_version


def deployment(name, service, version, namespace="gws"):
    return {"name": name, "namespace": namespace, "service": service, "version": version}


def service(name, selector, namespace="gws"):
    return {"name": name, "namespace": namespace, "selector": selector}


def ledger(service_name, active, previous, valid=True):
    return {"namespace": "gws", "service": service_name, "valid": valid,
            "active": {"color": active[0], "version": active[1]}, "previous": {"color": previous[0], "version": previous[1]}}


def test_the_cluster_says_versions_and_the_service_says_the_active_color():
    state = observed_state(
        [deployment("chat-blue", "chat", "1"), deployment("chat-green", "chat", "2"), deployment("auth", "auth", "5", "gauth")],
        [service("chat", {"app.kubernetes.io/name": "chat", "cxpe.io/color": "green"}),
         service("chat-preview", {"app.kubernetes.io/name": "chat", "cxpe.io/color": "blue"})],
    )
    assert state == {
        "gws": {"chat": {"active_color": "green", "versions": {"chat-blue": "1", "chat-green": "2"}}},
        "gauth": {"auth": {"versions": {"auth": "5"}}},
    }


def test_the_ledger_fills_in_what_the_cluster_lacks_and_the_cluster_wins():
    state = observed_state(
        [deployment("chat-green", "chat", "2.1")], [],
        [ledger("chat", ("green", "2"), ("blue", "1")), ledger("broken", ("blue", "9"), (None, None), valid=False)],
    )
    assert state == {"gws": {"chat": {"active_color": "green", "versions": {"chat-blue": "1", "chat-green": "2.1"}}}}


def test_the_service_wins_over_the_ledger_for_the_active_color():
    state = observed_state([], [service("chat", {"app.kubernetes.io/name": "chat", "cxpe.io/color": "blue"})],
                           [ledger("chat", ("green", "2"), ("blue", "1"))])
    assert state["gws"]["chat"]["active_color"] == "blue"


def test_the_cluster_says_the_replicas_of_each_deployment():
    state = observed_state(
        [dict(deployment("chat", "chat", "1"), replicas=3), dict(deployment("chat-canary", "chat", "2"), replicas=1)], [])
    assert state["gws"]["chat"]["replicas"] == {"chat": 3, "chat-canary": 1}


def test_the_running_version_is_the_active_colors_or_the_deployment_named_after_the_service():
    state = observed_state(
        [deployment("chat-blue", "chat", "1"), deployment("chat-green", "chat", "2"),
         deployment("dialplan", "dialplan", "7", "voice"), deployment("dialplan-canary", "dialplan", "8", "voice")],
        [service("chat", {"app.kubernetes.io/name": "chat", "cxpe.io/color": "green"})],
    )
    assert running_version(state, "gws", "chat", "blue_green") == "2"
    assert running_version(state, "voice", "dialplan", "canary") == "7"
    assert running_version(state, "voice", "missing", "rolling_update") is None


def test_a_blue_green_service_without_an_active_color_runs_nothing():
    state = observed_state([deployment("chat-blue", "chat", "1")], [])
    assert running_version(state, "gws", "chat", "blue_green") is None
