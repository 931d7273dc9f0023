# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.routers import RouterError, make_router


def path(service, where="/"):
    return {"path": where, "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}


def ingress(*rules):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": paths}} for host, paths in rules]}}


def router(**options):
    return make_router(dict({"kind": "ingress", "name": "web"}, **options), "ns", "web")


def test_the_ingress_router_reads_the_color_of_its_backend_service():
    obj = ingress(("web.example.com", [path("web-blue"), path("other", "/other")]))
    assert router().shares(obj) == {"blue": 100}
    assert router().backends(obj) == [("web-blue", "blue", 100)]


def test_switching_repoints_every_path_it_drives_and_leaves_the_others():
    obj = ingress(("web.example.com", [path("web-blue"), path("other", "/other")]), ("alt.example.com", [path("web-blue")]))
    routed = router().route(obj, {"green": 100})
    names = [[item["backend"]["service"]["name"] for item in rule["http"]["paths"]] for rule in routed["spec"]["rules"]]
    assert names == [["web-green", "other"], ["web-green"]]
    assert router().route(routed, {"green": 100}) is None


def test_host_and_path_narrow_the_paths():
    obj = ingress(("web.example.com", [path("web-blue")]), ("preview.example.com", [path("web-green")]))
    preview = router(host="preview.example.com")
    assert preview.shares(obj) == {"green": 100}
    routed = preview.route(obj, {"blue": 100})
    assert [rule["http"]["paths"][0]["backend"]["service"]["name"] for rule in routed["spec"]["rules"]] == ["web-blue", "web-blue"]


def test_paths_on_different_colors_show_as_shares_and_are_all_switched():
    obj = ingress(("a.example.com", [path("web-blue")]), ("b.example.com", [path("web-green")]))
    assert router().shares(obj) == {"blue": 50, "green": 50}
    assert router().route(obj, {"green": 100}) is not None


def test_an_ingress_without_a_path_to_the_service_is_refused_with_its_paths():
    obj = ingress(("web.example.com", [path("web")]))
    with pytest.raises(RouterError, match=r"Ingress ns/web has no rule path to a Service web-<color> \(its paths: web.example.com/ -> web\)"):
        router().shares(obj)


def test_a_narrowed_path_to_another_service_is_refused():
    obj = ingress(("web.example.com", [path("other")]))
    with pytest.raises(RouterError, match="Ingress ns/web routes web.example.com/ to Service other, which is not one of web-<color>"):
        router(host="web.example.com").shares(obj)
    with pytest.raises(RouterError, match="no rule path to a Service web-<color> for host nope.example.com"):
        router(host="nope.example.com").shares(obj)
