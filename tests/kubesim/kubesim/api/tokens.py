"""Service account tokens: the JWTs the TokenRequest subresource issues and the legacy token Secrets hold.

Tokens are signed (ES256) with a key made at start-up and verified on each request, as the real
server verifies its own: a TokenRequest token (``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token``,
what ``kubectl create token`` sends) carries the audiences, expiry, jti and service account of the real
claims and authenticates as ``system:serviceaccount:<ns>:<name>`` until it expires (on the simulated
clock), its account is deleted (or replaced: the uid must match) or the Pod or Secret it is bound to
goes. A legacy token (a Secret of type ``kubernetes.io/service-account-token``, filled in by the
token controller) lasts as long as its Secret and account.
"""

import base64
import hashlib
import json
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .. import resources
from ..errors import ApiError, BadRequest, unnamed_invalid
from .field_errors import invalid
from .users import CREDENTIAL_ID, service_account_user, service_account_username

ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
# The API server's audiences (--api-audiences defaults to the issuer): a token must be meant for one.
API_AUDIENCES = (ISSUER,)
DEFAULT_EXPIRATION_SECONDS = 3600
MINIMUM_EXPIRATION_SECONDS = 600
MAXIMUM_EXPIRATION_SECONDS = 1 << 32
SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_ANNOTATION = "kubernetes.io/service-account.name"
SERVICE_ACCOUNT_UID_ANNOTATION = "kubernetes.io/service-account.uid"
_LEGACY_CLAIM = "kubernetes.io/serviceaccount/"
_BOUND_KINDS = {"Pod": resources.PODS, "Secret": resources.SECRETS}
_COORDINATE_BYTES = 32


def _encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(value):
    return _encode(json.dumps(value, separators=(",", ":")).encode())


def _invalid_expiration(seconds, detail):
    return unnamed_invalid("authentication.k8s.io", "TokenRequest", [invalid("spec.expirationSeconds", seconds, detail)])


class ServiceAccountTokens:
    def __init__(self, store):
        self.store = store
        self._key = ec.generate_private_key(ec.SECP256R1())
        public = self._key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self._key_id = _encode(hashlib.sha256(public).digest())
        # The cluster CA, published in legacy token Secrets as ca.crt (with --tls).
        self.ca_pem = None

    # ---------------------------------------------------------------- JWT

    def _sign(self, claims):
        signing_input = f"{_segment({'alg': 'ES256', 'kid': self._key_id})}.{_segment(claims)}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_encode(r.to_bytes(_COORDINATE_BYTES, 'big') + s.to_bytes(_COORDINATE_BYTES, 'big'))}"

    def _claims(self, token):
        """The claims of a token this server signed, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header, claims, signature = json.loads(_decode(parts[0])), json.loads(_decode(parts[1])), _decode(parts[2])
        except ValueError:
            return None
        if not isinstance(header, dict) or header.get("kid") != self._key_id or len(signature) != 2 * _COORDINATE_BYTES:
            return None
        der = encode_dss_signature(int.from_bytes(signature[:_COORDINATE_BYTES], "big"), int.from_bytes(signature[_COORDINATE_BYTES:], "big"))
        try:
            self._key.public_key().verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        return claims if isinstance(claims, dict) else None

    # ---------------------------------------------------------------- issuing

    def token_request(self, namespace, name, document):
        """The TokenRequest answered for a ServiceAccount: its spec defaulted, its status holding the token."""
        spec = document.get("spec") or {}
        if not isinstance(spec, dict):
            raise BadRequest("TokenRequest in version \"v1\" cannot be handled as a TokenRequest: spec must be an object")
        audiences = list(spec.get("audiences") or API_AUDIENCES)
        # A pointer field: null (kubectl 1.27 sends it when --duration is not given) is unset, and defaulted.
        expiration = spec.get("expirationSeconds")
        if expiration is None:
            expiration = DEFAULT_EXPIRATION_SECONDS
        if isinstance(expiration, bool) or not isinstance(expiration, int):
            raise BadRequest(f"TokenRequest in version \"v1\" cannot be handled as a TokenRequest: spec.expirationSeconds: {expiration!r} is not an int64")
        if expiration < MINIMUM_EXPIRATION_SECONDS:
            raise _invalid_expiration(expiration, "may not specify a duration less than 10 minutes")
        if expiration > MAXIMUM_EXPIRATION_SECONDS:
            raise _invalid_expiration(expiration, "may not specify a duration larger than 2^32 seconds")
        account = self.store.get(resources.SERVICEACCOUNTS, namespace, name)
        bound = spec.get("boundObjectRef")
        now = int(self.store.clock.wall())
        identity = {"namespace": namespace, "serviceaccount": {"name": name, "uid": account["metadata"]["uid"]}}
        if bound:
            identity.update(self._bound_claim(namespace, bound))
        claims = {"aud": audiences, "exp": now + expiration, "iat": now, "iss": ISSUER, "jti": str(uuid.uuid4()), "kubernetes.io": identity,
                  "nbf": now, "sub": service_account_username(namespace, name)}
        return {
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound},
            "status": {"token": self._sign(claims), "expirationTimestamp": self.store.clock.timestamp(now + expiration)},
        }

    def _bound_claim(self, namespace, reference):
        """The claim binding a token to a Pod or Secret of the account's namespace (which must exist, with the uid given)."""
        rtype = _BOUND_KINDS.get(reference.get("kind"))
        if rtype is None:
            raise BadRequest(f"cannot bind token for object of kind {json.dumps(reference.get('kind'))}")
        target = self.store.get(rtype, namespace, reference.get("name", ""))
        if reference.get("uid") and reference["uid"] != target["metadata"]["uid"]:
            raise ApiError(f"the UID in the bound object reference ({reference['uid']}) does not match the UID in record. "
                           "The object might have been deleted and then recreated", code=409, reason="Conflict")
        return {reference["kind"].lower(): {"name": target["metadata"]["name"], "uid": target["metadata"]["uid"]}}

    def legacy_token(self, account, secret_name):
        """The token a legacy Secret of ``account`` holds."""
        namespace, name = account["metadata"]["namespace"], account["metadata"]["name"]
        return self._sign({"iss": LEGACY_ISSUER, f"{_LEGACY_CLAIM}namespace": namespace, f"{_LEGACY_CLAIM}secret.name": secret_name,
                           f"{_LEGACY_CLAIM}service-account.name": name, f"{_LEGACY_CLAIM}service-account.uid": account["metadata"]["uid"],
                           "sub": service_account_username(namespace, name)})

    # ---------------------------------------------------------------- authenticating

    def authenticate(self, token):
        """The user a token authenticates as, or None."""
        claims = self._claims(token)
        if claims is None:
            return None
        if claims.get("iss") == ISSUER:
            return self._bound_user(claims)
        if claims.get("iss") == LEGACY_ISSUER:
            return self._legacy_user(token, claims)
        return None

    def _live_account(self, namespace, name, uid):
        account = self.store.find(resources.SERVICEACCOUNTS, namespace, name)
        if account is None or account["metadata"]["uid"] != uid or account["metadata"].get("deletionTimestamp"):
            return None
        return account

    def _bound_user(self, claims):
        now = self.store.clock.wall()
        audiences = claims.get("aud") or []
        if not set(audiences) & set(API_AUDIENCES) or not claims.get("nbf", 0) <= now < claims.get("exp", 0):
            return None
        identity = claims.get("kubernetes.io") or {}
        namespace, account = identity.get("namespace", ""), identity.get("serviceaccount") or {}
        if self._live_account(namespace, account.get("name", ""), account.get("uid")) is None:
            return None
        extra = [(CREDENTIAL_ID, (f"JTI={claims.get('jti')}",))]
        for kind, rtype in _BOUND_KINDS.items():
            bound = identity.get(kind.lower())
            if bound is None:
                continue
            target = self.store.find(rtype, namespace, bound.get("name", ""))
            if target is None or target["metadata"]["uid"] != bound.get("uid") or target["metadata"].get("deletionTimestamp"):
                return None
            if kind == "Pod":
                extra += [("authentication.kubernetes.io/pod-name", (bound["name"],)), ("authentication.kubernetes.io/pod-uid", (bound["uid"],))]
        return service_account_user(namespace, account["name"], account["uid"], tuple(sorted(extra)))

    def _legacy_user(self, token, claims):
        namespace = claims.get(f"{_LEGACY_CLAIM}namespace", "")
        secret = self.store.find(resources.SECRETS, namespace, claims.get(f"{_LEGACY_CLAIM}secret.name", ""))
        if secret is None or secret["metadata"].get("deletionTimestamp") or secret.get("type") != SERVICE_ACCOUNT_TOKEN_TYPE:
            return None
        if (secret.get("data") or {}).get("token") != base64.b64encode(token.encode()).decode():
            return None
        name, uid = claims.get(f"{_LEGACY_CLAIM}service-account.name", ""), claims.get(f"{_LEGACY_CLAIM}service-account.uid")
        if self._live_account(namespace, name, uid) is None:
            return None
        return service_account_user(namespace, name, uid)
