# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """Attributes shared by every mim.cm module."""

    DOCUMENTATION = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/mim.cm.cm) in C(module_defaults) to set the connection options once for every mim.cm module.
    support: full
    membership:
      - mim.cm.cm
  platform:
    description: Runs wherever Python can reach the CM server over HTTPS, usually the controller (C(delegate_to) V(localhost)).
    support: full
    platforms: posix
'''

    # The modules that only read (the *_info modules): extends_documentation_fragment mim.cm.attributes.info_module.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: Reads the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: N/A
  idempotent:
    description: Changes nothing.
    support: full
'''
