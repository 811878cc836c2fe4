"""W1 and W2 as a minimal pure-Python ``heapq`` event loop: the speed floor for benchmarks/run.py.

No framework, no records beyond one (node, queue-entry time, wait) tuple per service start,
random numbers from Python's ``random.Random``. Anything a general engine does on top of
this (routing tables, resources, records, bookkeeping) is overhead.
"""

from __future__ import annotations

import random
from collections import deque
from heapq import heappop, heappush

# (arrival rate into each node from outside, servers, service rate, routing [(p, next node)])
W1 = ([9.0], [10], [1.0], [[]])
W2 = ([5.0, 0.0, 0.0], [3, 2, 4], [2.0, 2.5, 1.0], [[(0.7, 1), (0.3, 2)], [(0.2, 0)], []])
NETWORKS = {"w1": W1, "w2": W2}


def run(workload: str, horizon: float, seed: int):
    """Simulate to ``horizon``; return (external arrivals, [(node, queue-entry time, wait)])."""
    rates, servers, mus, routing = NETWORKS[workload]
    rng = random.Random(seed)
    expo, uniform = rng.expovariate, rng.random
    free = list(servers)
    queues = [deque() for _ in servers]
    visits = []
    record = visits.append
    events = []  # (time, seq, kind, node): kind 0 = external arrival, 1 = service end
    seq = 0
    for node, rate in enumerate(rates):
        if rate > 0:
            heappush(events, (expo(rate), seq, 0, node))
            seq += 1
    arrivals = 0

    def route(node):
        u = uniform()
        for p, nxt in routing[node]:
            if u < p:
                return nxt
            u -= p
        return -1

    while events:
        t, _, kind, node = heappop(events)
        if t >= horizon:
            break
        if kind == 0:
            arrivals += 1
            heappush(events, (t + expo(rates[node]), seq, 0, node))
            seq += 1
        else:  # service end at node: free the server or start the next in line, then route
            q = queues[node]
            if q:
                entered = q.popleft()
                record((node, entered, t - entered))
                heappush(events, (t + expo(mus[node]), seq, 1, node))
                seq += 1
            else:
                free[node] += 1
            node = route(node)
            if node < 0:
                continue
        # a customer joins ``node`` at time t
        if free[node]:
            free[node] -= 1
            record((node, t, 0.0))
            heappush(events, (t + expo(mus[node]), seq, 1, node))
            seq += 1
        else:
            queues[node].append(t)
    return arrivals, visits
