#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_lease
short_description: Hold a service's Lease for the run of a play, so that one run at a time upgrades it
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Takes, keeps and gives back the C(coordination.k8s.io/v1) Lease named like the service's rollout ledger
    (C(<service>-rollout)). The P(cxpe.rollout.bluegreen#role), P(cxpe.rollout.canary#role) and
    P(cxpe.rollout.rolling#role) roles take it before their first write and give it back at the end, so a second
    run upgrading the same service at the same time is refused before it changes anything.
  - The Lease is held by the run, not by a task. Its holder is C(<user>@<host>/<pid>) of the C(ansible-playbook)
    process running the play on the controller, which the module's action plugin fills in as O(holder).
  - O(state=held) takes the Lease when it is free, already the run's, or another run's that is over, and fails naming
    the holder, since when and until when otherwise. Another run is over when it stopped renewing its Lease for
    longer than the Lease's duration (a run killed on any controller, after up to O(duration) seconds), or at once
    when its holder is a process of this host that is no longer running (a run killed on this controller, re-run on
    it). A takeover is reported as RV(taken_over), as a warning, and in the service's ledger history (action
    C(takeover)) when it has a ledger.
  - With O(keep=true) it then starts a process of its own that renews the Lease every third of O(duration) for as
    long as the run's process lives, until the Lease is given back or taken over; that process checks the run's
    process every second, and ends with it. So a run's Lease expires O(duration) seconds after the run was killed,
    wherever it was, while a run that lasts hours keeps it.
  - O(state=released) deletes the Lease if O(holder) still holds it.
options:
  namespace:
    description: Namespace of the service.
    type: str
    required: true
  service:
    description: Name of the service (or of the workload, for a rolling update).
    type: str
    required: true
  ledger:
    description:
      - Name of the service's rollout ledger. The Lease has the same name; a takeover is recorded in the ledger when it
        exists (it is never created here). Defaults to C(<service>-rollout).
    type: str
  state:
    description: Whether the run holds the Lease (C(held)) or gives it back (C(released)).
    type: str
    choices: [held, released]
    default: held
  duration:
    description: Seconds the Lease stays valid after its last renewal (C(leaseDurationSeconds)).
    type: int
    default: 60
  holder:
    description:
      - The run's identity, C(<user>@<host>/<pid>). Defaults to the user (O(actor)), the controller's host name and
        the process ID of C(ansible-playbook), which the action plugin sets on the controller; give the same value to
        the tasks that keep and give back the Lease (the O(state=held) result's RV(holder)).
    type: str
  keep:
    description: With O(state=held), keep renewing the Lease, from a process of its own, until the run ends or the
      Lease is given back (RV(keeper)).
    type: bool
    default: false
extends_documentation_fragment:
  - cxpe.rollout.rollout.record
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
attributes:
  action:
    description: The action plugin fills in O(holder) on the controller.
    support: full
  check_mode:
    description: Reads the Lease and says whether it would be taken or refused; writes nothing.
    support: full
  diff_mode:
    description: The Lease is a lock, not a change to review.
    support: none
notes:
  - The holder's process is checked only on the host the module runs on, which is the controller for the inventories
    of this collection (C(ansible_connection=local)). A run on another controller is over only once its Lease expires.
seealso:
  - module: cxpe.rollout.rolling_drain
"""

EXAMPLES = r"""
- name: Take the Lease of gws-chat for this run, and keep it while the run lasts
  cxpe.rollout.rollout_lease:
    namespace: gws
    service: gws-chat
    duration: 60
    keep: true
  register: lease

- name: Give it back
  cxpe.rollout.rollout_lease:
    namespace: gws
    service: gws-chat
    holder: "{{ lease.holder }}"
    state: released
"""

RETURN = r"""
holder:
  description: The run's identity, the Lease's holder.
  returned: always
  type: str
  sample: ops@ctl-1/4182
taken_over:
  description: With O(state=held), the run whose Lease was taken over, and why it is over; null when there was none.
  returned: success
  type: dict
  contains:
    holder:
      description: The previous holder.
      type: str
      sample: ops@ctl-1/3970
    since:
      description: When it had acquired the Lease.
      type: str
      sample: "2026-12-04T07:40:11.000000Z"
    renewed:
      description: When it last renewed it.
      type: str
      sample: "2026-12-04T07:41:31.000000Z"
    why:
      description: Why that run is over.
      type: str
      sample: its process 3970 is not running on ctl-1
released:
  description: With O(state=released), whether the Lease was deleted (false when it was gone or another run's).
  returned: success
  type: bool
keeper:
  description: With O(keep=true), the process ID of the process that renews the Lease (not in check mode).
  returned: success
  type: int
  sample: 4190
writes:
  description: API writes made.
  returned: always
  type: int
operations:
  description: The writes made (or, in check mode, that would be made).
  returned: always
  type: list
  elements: dict
duration_ms:
  description: Time the module took, in milliseconds.
  returned: always
  type: int
"""

from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import RECORD_ARG_SPEC, TARGET_ARG_SPEC, argument_spec, login
from ansible_collections.cxpe.rollout.plugins.module_utils.lease import Lease, LeaseHeld, detach, identity, record_takeover
from ansible_collections.cxpe.rollout.plugins.module_utils.runner import run_module


def module_spec():
    return argument_spec(
        TARGET_ARG_SPEC, RECORD_ARG_SPEC,
        state={"type": "str", "choices": ["held", "released"], "default": "held"},
        duration={"type": "int", "default": 60},
        holder={"type": "str"},
        keep={"type": "bool", "default": False},
    )


def run(cluster, module):
    params = module.params
    actor = params["actor"] or login()
    holder = params["holder"] or identity(actor)
    namespace, service = params["namespace"], params["service"]
    name = params["ledger"] or ledgers.ledger_name(service)
    lease = Lease(cluster, namespace, name, holder, params["duration"])
    if params["state"] == "released":
        released = lease.give_back()
        return {"changed": released, "holder": holder, "released": released}
    lease.acquire()
    taken = lease.taken_over
    if taken:
        module.warn("Took over Lease %s/%s from %s, which held it since %s (renewed %s): %s"
                    % (namespace, name, taken["holder"], taken["since"], taken["renewed"], taken["why"]))
        record_takeover(cluster, namespace, service, name, taken, actor, params["reason"])
    result = {"changed": bool(cluster.operations), "holder": holder, "taken_over": taken}
    if params["keep"] and not cluster.check_mode:
        # The keeper runs what this renewal runs, already imported: the module's files are removed once it exits.
        lease.renew(force=True)
        result["keeper"] = detach(lease.keep)
    return result


def main():
    run_module(module_spec(), run, lambda params: "refusing to hold Lease %s/%s" % (params["namespace"], params["service"]),
               errors=(LeaseHeld,))


if __name__ == "__main__":
    main()
