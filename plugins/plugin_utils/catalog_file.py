# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side access to the service catalog shipped with the collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml
from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    CatalogError,
)

# Resolved from this file rather than the working directory, so that an
# installed collection finds its own copy: plugins/plugin_utils/ -> data/.
CATALOG_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "service_catalog.yml")


def query_catalog(select, **kwargs):
    """Return select(catalog, **kwargs) for the shipped catalog.

    `select` is one of the module_utils.catalog functions; an unreadable file
    or a CatalogError becomes a lookup error that names the problem.
    """
    try:
        with open(CATALOG_PATH, "r", encoding="utf-8") as stream:
            catalog = yaml.safe_load(stream)
        return select(catalog, **kwargs)
    except (OSError, yaml.YAMLError) as error:
        raise AnsibleLookupError("cannot read the service catalog %s: %s" % (CATALOG_PATH, to_native(error)))
    except CatalogError as error:
        raise AnsibleLookupError(to_native(error))
