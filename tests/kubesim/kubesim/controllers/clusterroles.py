"""The ClusterRole aggregation controller: an aggregated ClusterRole (``aggregationRule``) holds the rules of
the ClusterRoles its selectors match, kept up to date as they change (``admin``, ``edit`` and ``view`` are
built so, and a ClusterRole labelled ``rbac.authorization.k8s.io/aggregate-to-view: "true"`` extends
``view``). It looks only when a ClusterRole changed.
"""

from .. import resources
from ..api.rbac import aggregated_rules
from .meta import name_of, try_write


class ClusterRoleAggregationController:
    def __init__(self, store):
        self.store = store
        self._dirty = True
        store.add_listener(self._notice)

    def _notice(self, _event_type, rtype, _obj):
        if rtype.key == resources.CLUSTERROLES.key:
            self._dirty = True

    def reconcile(self):
        if not self._dirty:
            return None
        self._dirty = False
        cluster_roles = self.store.list(resources.CLUSTERROLES)[0]
        for role in cluster_roles:
            if not role.get("aggregationRule"):
                continue
            rules = aggregated_rules(role, cluster_roles)
            if rules != (role.get("rules") or []):
                # Its change wakes this controller again, so roles aggregated from this one follow on the next pass.
                try_write(self.store.mutate, resources.CLUSTERROLES, None, name_of(role), lambda current, rules=rules: current.update(rules=rules))
        return None
