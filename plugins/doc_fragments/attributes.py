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
