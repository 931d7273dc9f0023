"""The service account controller: a ``default`` ServiceAccount in every namespace that is not being deleted.

It recreates a deleted ``default`` account, as kube-controller-manager's does. It looks only when a
namespace or a ServiceAccount changed, so it costs nothing while the world is at rest.
"""

from .. import resources
from .meta import is_deleting, name_of, try_write

SERVICEACCOUNTS = resources.by_path("", "v1", "serviceaccounts")
DEFAULT = "default"


class ServiceAccountController:
    def __init__(self, store):
        self.store = store
        self._dirty = True
        store.add_listener(self._notice)

    def _notice(self, _event_type, rtype, _obj):
        if rtype.key in (resources.NAMESPACES.key, SERVICEACCOUNTS.key):
            self._dirty = True

    def reconcile(self):
        if not self._dirty:
            return None
        self._dirty = False
        for namespace in self.store.list(resources.NAMESPACES)[0]:
            if not is_deleting(namespace) and self.store.find(SERVICEACCOUNTS, name_of(namespace), DEFAULT) is None:
                try_write(self.store.create, SERVICEACCOUNTS,
                          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT, "namespace": name_of(namespace)}})
        return None
