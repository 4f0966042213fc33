# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading
import time

from ansible_collections.mim.cm.plugins.module_utils._workers import ClientPool, map_in_order


class Client(object):
    def __init__(self, name):
        self.name = name
        self.closed = False

    def close(self):
        self.closed = True


def test_the_pool_makes_at_most_one_client_per_extra_worker_and_closes_only_those():
    first = Client('first')
    made = []
    pool = ClientPool(first, lambda: made.append(Client('extra')) or made[-1], size=3)
    in_use = [pool.borrow(), pool.borrow(), pool.borrow()]
    assert in_use[0] is first and len(made) == 2
    for client in in_use:
        pool.give_back(client)
    assert pool.borrow() is in_use[-1], 'the warmest client is lent first'
    pool.close()
    assert [client.closed for client in made] == [True, True] and first.closed is False


def test_map_in_order_keeps_the_order_and_uses_several_threads():
    threads = set()

    def work(number):
        threads.add(threading.get_ident())
        time.sleep(0.01 * (number % 3))
        return number * 2

    assert map_in_order(work, list(range(20)), workers=4) == [number * 2 for number in range(20)]
    assert len(threads) > 1


def test_map_in_order_with_one_worker_stays_in_this_thread():
    threads = set()
    map_in_order(lambda number: threads.add(threading.get_ident()), [1, 2, 3], workers=1)
    assert threads == {threading.get_ident()}
