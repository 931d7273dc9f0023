"""Access control of each request, in the real server's order: authentication, impersonation, authorization.

Without ``--authorization-mode RBAC`` every request is the admin's (any token is accepted) and
everything is allowed. With it:

- Authentication: a bearer token is the admin token of the kubeconfig kubesim writes (user
  ``kubernetes-admin`` in ``system:masters``) or a service account token (``tokens.py``); any other
  token is refused with 401. A request without a bearer token is ``system:anonymous`` (group
  ``system:unauthenticated``), as with kube-apiserver's default ``--anonymous-auth=true``, or is
  refused with 401 when anonymous requests are turned off.
- Impersonation (``Impersonate-User``, ``Impersonate-Group``, ``Impersonate-Uid``,
  ``Impersonate-Extra-<key>``; what ``kubectl --as``/``--as-group`` send): the requester must be
  allowed to ``impersonate`` the users, groups, service accounts, uids and extras it names.
- Authorization: RBAC (``rbac.py``).
"""

import hmac
import secrets

from ..errors import ApiError, Unauthorized
from . import rbac
from .users import ADMIN, ANONYMOUS, ANONYMOUS_NAME, AUTHENTICATED, UNAUTHENTICATED, UserInfo, service_account_groups, split_service_account

MODES = ("AlwaysAllow", "RBAC")
_EXTRA_PREFIX = "impersonate-extra-"
_AUTHENTICATION_GROUP = "authentication.k8s.io"


def _bearer_token(request):
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


class AccessControl:
    def __init__(self, store, tokens, mode="AlwaysAllow", anonymous=True):
        self.tokens = tokens
        self.rbac = mode == "RBAC"
        self.anonymous = anonymous
        # The bearer token of the kubeconfig kubesim writes; without RBAC any token is accepted and this one is never checked.
        self.admin_token = secrets.token_urlsafe(32) if self.rbac else "kubesim"
        self.authorizer = rbac.Authorizer(store) if self.rbac else rbac.AllowAll()

    def authorize_request(self, request):
        """The authorization attributes of an allowed request (its user included); raises 401 or 403. The request keeps
        who sent it (``requester``) and the authorizer's ``decision`` (allowed, reason) for the audit log."""
        request.requester = self._authenticated(request)
        user = self._impersonated(request.requester, request)
        attributes = rbac.request_attributes(user, request.method, request.path, request.query)
        allowed, reason = request.decision = self.authorizer.authorize(attributes)
        if not allowed:
            raise rbac.forbidden(attributes, reason)
        return attributes

    def authenticate_token(self, token):
        """The user a bearer token authenticates as, or None (what a TokenReview answers)."""
        if not self.rbac:
            return ADMIN
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        return self.tokens.authenticate(token)

    def _authenticated(self, request):
        if not self.rbac:
            return ADMIN
        token = _bearer_token(request)
        if not token:
            if self.anonymous:
                return ANONYMOUS
            raise Unauthorized()
        user = self.authenticate_token(token)
        if user is None:
            raise Unauthorized()
        return user

    def _impersonated(self, requester, request):
        """The user the request acts as: ``requester``, or whom it impersonates once that is allowed."""
        name = request.headers.get("impersonate-user", "")
        groups = tuple(request.impersonate_groups)
        uid = request.headers.get("impersonate-uid", "")
        extra = tuple(sorted((key[len(_EXTRA_PREFIX):], tuple(v.strip() for v in value.split(",")))
                             for key, value in request.headers.items() if key.startswith(_EXTRA_PREFIX)))
        if not (name or groups or uid or extra):
            return requester
        if not name:
            raise ApiError("Internal error occurred: requested impersonation of groups, a uid or extras without impersonating a user")
        checks = []
        account = split_service_account(name)
        if account:
            checks.append(rbac.Attributes(requester, "impersonate", namespace=account[0], resource="serviceaccounts", name=account[1]))
            groups = groups or service_account_groups(account[0])
        else:
            checks.append(rbac.Attributes(requester, "impersonate", resource="users", name=name))
        checks += [rbac.Attributes(requester, "impersonate", resource="groups", name=group) for group in request.impersonate_groups]
        if uid:
            checks.append(rbac.Attributes(requester, "impersonate", group=_AUTHENTICATION_GROUP, resource="uids", name=uid))
        checks += [rbac.Attributes(requester, "impersonate", group=_AUTHENTICATION_GROUP, resource="userextras", subresource=key, name=value)
                   for key, values in extra for value in values]
        for attributes in checks:
            allowed, reason = self.authorizer.authorize(attributes)
            if not allowed:
                raise rbac.forbidden(attributes, reason)
        if name == ANONYMOUS_NAME:
            groups += () if UNAUTHENTICATED in groups else (UNAUTHENTICATED,)
        elif AUTHENTICATED not in groups and UNAUTHENTICATED not in groups:
            groups += (AUTHENTICATED,)
        return UserInfo(name, uid, groups, extra)
