"""Who a request acts as: the user information authentication yields and authorization judges, with the
names and groups a real API server gives its users."""

from dataclasses import dataclass

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_NAME = "system:anonymous"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
# The user extra that names the credential a service account token is (its jti).
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple = ()
    # ((key, (value, ...)), ...): extra attributes the authenticator adds.
    extra: tuple = ()

    def as_json(self):
        """The UserInfo of authentication.k8s.io (a SelfSubjectReview's, a TokenReview's)."""
        info = {"username": self.name}
        if self.uid:
            info["uid"] = self.uid
        info["groups"] = list(self.groups)
        if self.extra:
            info["extra"] = {key: list(values) for key, values in self.extra}
        return info


ANONYMOUS = UserInfo(ANONYMOUS_NAME, groups=(UNAUTHENTICATED,))
# The user of the kubeconfig kubesim writes: in system:masters, which the API server always allows.
ADMIN = UserInfo("kubernetes-admin", groups=(MASTERS, AUTHENTICATED))


def service_account_username(namespace, name):
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def service_account_groups(namespace):
    return (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}")


def service_account_user(namespace, name, uid="", extra=()):
    return UserInfo(service_account_username(namespace, name), uid, service_account_groups(namespace) + (AUTHENTICATED,), extra)


def split_service_account(username):
    """(namespace, name) of a service account's user name, or None for another user."""
    if not username.startswith(SERVICE_ACCOUNT_PREFIX):
        return None
    parts = username[len(SERVICE_ACCOUNT_PREFIX):].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]
