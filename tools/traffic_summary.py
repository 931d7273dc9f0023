# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print what the clients of a simulated cluster went through: kubesim's traffic counters, per entry
point and per service version. Usage: traffic_summary.py [--brief] METRICS_URL [NAMESPACE ...]
--brief prints only the rows with a failed request or a dropped session, and the totals."""

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


def main(url, namespaces, brief=False):
    found = list(samples(url))
    entries = ("namespace", "kind", "entry")
    sent = totals(found, "kubesim_entry_requests_total", entries, namespaces)
    failed = totals(found, "kubesim_entry_request_errors_total", entries + ("reason",), namespaces)
    print("%-10s %-8s %-22s %9s %7s  %s" % ("NAMESPACE", "ENTRY", "NAME", "REQUESTS", "FAILED", "WHY"))
    why_totals = {}
    for key in sorted(sent):
        reasons = dict((reason[-1], count) for reason, count in failed.items() if reason[:-1] == key and count)
        for reason, count in reasons.items():
            why_totals[reason] = why_totals.get(reason, 0) + count
        why = ", ".join("%s %d" % item for item in sorted(reasons.items())) or "-"
        if reasons or not brief:
            print("%-10s %-8s %-22s %9d %7d  %s" % (key + (sent[key], sum(reasons.values()), why)))
    why = ", ".join("%s %d" % item for item in sorted(why_totals.items())) or "-"
    print("%-10s %-8s %-22s %9d %7d  %s" % ("all", "", "%d entry points" % len(sent), sum(sent.values()), sum(why_totals.values()), why))
    print()
    versions = ("namespace", "service", "version")
    served = totals(found, "kubesim_service_requests_total", versions, namespaces)
    errors = totals(found, "kubesim_service_request_errors_total", versions, namespaces)
    started = totals(found, "kubesim_service_sessions_started_total", versions, namespaces)
    dropped = totals(found, "kubesim_service_sessions_dropped_total", versions, namespaces)
    print("%-10s %-22s %-22s %9s %7s %9s %8s" % ("NAMESPACE", "SERVICE", "VERSION", "REQUESTS", "FAILED", "SESSIONS", "DROPPED"))
    for key in sorted(served):
        row = (key[0], key[1], key[2] or "(no endpoint)", served[key], errors.get(key, 0), started.get(key, 0), dropped.get(key, 0))
        if row[4] or row[6] or not brief:
            print("%-10s %-22s %-22s %9d %7d %9d %8d" % row)
    services = "%d services" % len(set(key[:2] for key in served))
    row = ("all", services, "", sum(served.values()), sum(errors.values()), sum(started.values()), sum(dropped.values()))
    print("%-10s %-22s %-22s %9d %7d %9d %8d" % row)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    brief = "--brief" in arguments
    arguments = [argument for argument in arguments if argument != "--brief"]
    if not arguments:
        sys.exit(__doc__)
    main(arguments[0], set(arguments[1:]), brief)
