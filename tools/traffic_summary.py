# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print what the clients of a simulated cluster went through: kubesim's traffic counters, per entry
point and per service version. Usage: traffic_summary.py METRICS_URL [NAMESPACE ...]"""

from __future__ import absolute_import, division, print_function

import re
import sys
import urllib.request

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\} (?P<value>\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def samples(url):
    """(metric name, labels, value) of every sample the endpoint serves."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            yield match.group("name"), dict(LABEL.findall(match.group("labels"))), float(match.group("value"))


def totals(found, name, keys, namespaces):
    """Sum a family's samples by the label values ``keys``, within ``namespaces`` (all when empty)."""
    summed = {}
    for sample_name, labels, value in found:
        if sample_name == name and (not namespaces or labels.get("namespace") in namespaces):
            key = tuple(labels.get(label, "") for label in keys)
            summed[key] = summed.get(key, 0) + value
    return summed


def main(url, namespaces):
    found = list(samples(url))
    entries = ("namespace", "kind", "entry")
    sent = totals(found, "kubesim_entry_requests_total", entries, namespaces)
    failed = totals(found, "kubesim_entry_request_errors_total", entries + ("reason",), namespaces)
    print("%-10s %-8s %-22s %9s %7s  %s" % ("NAMESPACE", "ENTRY", "NAME", "REQUESTS", "FAILED", "WHY"))
    for key in sorted(sent):
        reasons = dict((reason[-1], count) for reason, count in failed.items() if reason[:-1] == key and count)
        why = ", ".join("%s %d" % item for item in sorted(reasons.items())) or "-"
        print("%-10s %-8s %-22s %9d %7d  %s" % (key + (sent[key], sum(reasons.values()), why)))
    print()
    versions = ("namespace", "service", "version")
    served = totals(found, "kubesim_service_requests_total", versions, namespaces)
    errors = totals(found, "kubesim_service_request_errors_total", versions, namespaces)
    started = totals(found, "kubesim_service_sessions_started_total", versions, namespaces)
    dropped = totals(found, "kubesim_service_sessions_dropped_total", versions, namespaces)
    print("%-10s %-22s %-22s %9s %7s %9s %8s" % ("NAMESPACE", "SERVICE", "VERSION", "REQUESTS", "FAILED", "SESSIONS", "DROPPED"))
    for key in sorted(served):
        row = (key[0], key[1], key[2] or "(no endpoint)", served[key], errors.get(key, 0), started.get(key, 0), dropped.get(key, 0))
        print("%-10s %-22s %-22s %9d %7d %9d %8d" % row)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], set(sys.argv[2:]))
