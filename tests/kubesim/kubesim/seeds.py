"""Loading multi-document YAML seed files into the store at start-up."""

import yaml

from . import resources
from .errors import ApiError


# Seeded objects are recorded in managedFields as if ``kubectl create -f`` had made them.
FIELD_MANAGER = "kubectl-create"


class SeedError(Exception):
    pass


def _documents(path):
    with open(path, encoding="utf-8") as handle:
        for document in yaml.safe_load_all(handle):
            if document is None:
                continue
            if document.get("kind", "").endswith("List") and "items" in document:
                yield from document["items"]
            else:
                yield document


def load(store, paths):
    """Create every object of every file; cluster-scoped objects (namespaces first) go in before
    namespaced ones so a seed may list them in any order. Returns the number created."""
    documents = []
    for path in paths:
        for document in _documents(path):
            rtype = resources.by_kind(document.get("apiVersion", ""), document.get("kind", ""))
            if rtype is None:
                raise SeedError(f"{path}: unknown kind {document.get('apiVersion')}/{document.get('kind')}")
            documents.append((path, rtype, document))
    documents.sort(key=lambda item: (item[1].namespaced, item[1].key != resources.NAMESPACES.key))
    for path, rtype, document in documents:
        try:
            store.create(rtype, document)
        except ApiError as exc:
            raise SeedError(f"{path}: {document.get('kind')} {document.get('metadata', {}).get('name')}: {exc.message}") from exc
    return len(documents)
