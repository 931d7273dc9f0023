"""The token controller for legacy service account token Secrets (type ``kubernetes.io/service-account-token``).

A Secret naming its account in the ``kubernetes.io/service-account.name`` annotation gets the account's
uid in ``kubernetes.io/service-account.uid`` and ``data.token`` (a token that authenticates as the
account for as long as the Secret and the account last), ``data.namespace`` and, with ``--tls``,
``data["ca.crt"]``. A Secret whose account does not exist, or is a different one by now (another uid),
is deleted, as kube-controller-manager's controller deletes it. It looks only when a Secret or a
ServiceAccount changed.
"""

import base64

from .. import resources
from ..api.tokens import SERVICE_ACCOUNT_NAME_ANNOTATION, SERVICE_ACCOUNT_TOKEN_TYPE, SERVICE_ACCOUNT_UID_ANNOTATION
from .meta import annotations, is_deleting, name_of, namespace_of, try_write


def _encoded(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


class ServiceAccountTokenController:
    def __init__(self, store, tokens):
        self.store = store
        self.tokens = tokens
        self._dirty = True
        store.add_listener(self._notice)

    def _notice(self, _event_type, rtype, _obj):
        if rtype.key in (resources.SECRETS.key, resources.SERVICEACCOUNTS.key):
            self._dirty = True

    def reconcile(self):
        if not self._dirty:
            return None
        self._dirty = False
        for secret in self.store.list(resources.SECRETS)[0]:
            if secret.get("type") == SERVICE_ACCOUNT_TOKEN_TYPE and not is_deleting(secret):
                self._sync(secret)
        return None

    def _sync(self, secret):
        namespace, noted = namespace_of(secret), annotations(secret)
        account = self.store.find(resources.SERVICEACCOUNTS, namespace, noted.get(SERVICE_ACCOUNT_NAME_ANNOTATION, ""))
        uid = noted.get(SERVICE_ACCOUNT_UID_ANNOTATION)
        if account is None or (uid and uid != account["metadata"]["uid"]):
            try_write(self.store.delete, resources.SECRETS, namespace, name_of(secret))
            return
        if uid and (secret.get("data") or {}).get("token"):
            return
        data = {"token": _encoded(self.tokens.legacy_token(account, name_of(secret))), "namespace": _encoded(namespace)}
        if self.tokens.ca_pem:
            data["ca.crt"] = _encoded(self.tokens.ca_pem)

        def fill(current):
            current["metadata"].setdefault("annotations", {})[SERVICE_ACCOUNT_UID_ANNOTATION] = account["metadata"]["uid"]
            current["data"] = dict(current.get("data") or {}, **data)

        try_write(self.store.mutate, resources.SECRETS, namespace, name_of(secret), fill)
