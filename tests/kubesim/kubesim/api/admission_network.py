"""Admission of NetworkPolicies: stored with the real server's defaults and validation (kubesim does not enforce them)."""

import ipaddress

from .. import resources
from .admission import FORBIDDEN, INVALID, _set_defaults, invalid, label_errors, not_supported, required

_PROTOCOLS = ("SCTP", "TCP", "UDP")
_CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def default_network_policy(obj, _old, _store):
    spec = obj.setdefault("spec", {})
    _set_defaults(spec, {"podSelector": {}})
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule or {}).get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _cidr(text):
    try:
        return ipaddress.ip_network(text, strict=False) if isinstance(text, str) and "/" in text else None
    except ValueError:
        return None


def _peer_errors(path, peer):
    peer = peer or {}
    selectors = [key for key in ("podSelector", "namespaceSelector") if key in peer]
    errors = []
    if "ipBlock" in peer and selectors:
        return [(path, FORBIDDEN, "Forbidden: may not specify both ipBlock and another peer")]
    if "ipBlock" not in peer and not selectors:
        return [required(path, "must specify a peer")]
    for key in selectors:
        errors += label_errors(f"{path}.{key}.matchLabels", (peer[key] or {}).get("matchLabels"))
    block = peer.get("ipBlock")
    if block is not None:
        network = _cidr(block.get("cidr"))
        if network is None:
            return [invalid(f"{path}.ipBlock.cidr", block.get("cidr"), _CIDR_MESSAGE)]
        for index, excepted in enumerate(block.get("except") or []):
            inner = _cidr(excepted)
            where = f"{path}.ipBlock.except[{index}]"
            if inner is None:
                errors.append(invalid(where, excepted, _CIDR_MESSAGE))
            elif inner.version != network.version or not inner.subnet_of(network) or inner == network:
                errors.append(invalid(where, excepted, "must be a strict subset of `cidr`"))
    return errors


def _port_errors(path, port):
    errors = []
    if port.get("protocol") not in _PROTOCOLS:
        errors.append(not_supported(f"{path}.protocol", port.get("protocol"), _PROTOCOLS))
    number = port.get("port")
    if isinstance(number, int) and not 1 <= number <= 65535:
        errors.append(invalid(f"{path}.port", number, "must be between 1 and 65535, inclusive"))
    end = port.get("endPort")
    if end is not None and not isinstance(number, int):
        errors.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric"))
    elif end is not None and end < number:
        errors.append(invalid(f"{path}.endPort", end, "must be greater than or equal to `port`"))
    return errors


def validate_network_policy(obj, _old):
    spec = obj.get("spec") or {}
    errors = label_errors("spec.podSelector.matchLabels", (spec.get("podSelector") or {}).get("matchLabels"))
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(spec.get(direction) or []):
            where = f"spec.{direction}[{index}]"
            for port_index, port in enumerate((rule or {}).get("ports") or []):
                errors += _port_errors(f"{where}.ports[{port_index}]", port or {})
            for peer_index, peer in enumerate((rule or {}).get(peers) or []):
                errors += _peer_errors(f"{where}.{peers}[{peer_index}]", peer)
    types = spec.get("policyTypes") or []
    for index, policy_type in enumerate(types):
        if policy_type not in ("Ingress", "Egress"):
            errors.append(not_supported(f"spec.policyTypes[{index}]", policy_type, ("Egress", "Ingress")))
    if len(types) > 2:
        errors.append(("spec.policyTypes", INVALID, f"Invalid value: {types}: may not specify more than two policyTypes"))
    return errors


DEFAULTERS = {resources.NETWORKPOLICIES.key: default_network_policy}
VALIDATORS = {resources.NETWORKPOLICIES.key: validate_network_policy}
INITIAL_STATUS = {}
