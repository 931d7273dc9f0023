# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script that ansible-test downloads to bootstrap pip.

tests/sanity/run.sh puts it in ansible-test's cache only when that download
fails. ansible-test runs it inside each new sanity virtual environment, with
get-pip's command line (pip options and the packages to install): it installs
pip from the wheel bundled with the interpreter, then lets that pip install
the requested packages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ensurepip
import os
import subprocess
import sys

# Options that only get-pip itself understands.
GET_PIP_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    # ensurepip points PIP_CONFIG_FILE at the null device in os.environ; the
    # second pip must see the caller's configuration (index, certificates).
    environment = dict(os.environ)
    ensurepip.bootstrap()
    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_OPTIONS]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + arguments, env=environment))


if __name__ == "__main__":
    main()
