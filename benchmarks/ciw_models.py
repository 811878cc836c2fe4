"""W1 and W2 written directly in Ciw (the reference library), for benchmarks/run.py."""

from __future__ import annotations

import ciw


def w1_network():
    """M/M/10, lambda = 9, mu = 1 (see benchmarks/w1_mmc.yaml)."""
    return ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=9.0)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[10],
    )


def w2_network():
    """Three-node open Jackson network (see benchmarks/w2_network.yaml)."""
    return ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=5.0), None, None],
        service_distributions=[ciw.dists.Exponential(rate=2.0), ciw.dists.Exponential(rate=2.5),
                               ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[3, 2, 4],
        routing=[[0.0, 0.7, 0.3], [0.2, 0.0, 0.0], [0.0, 0.0, 0.0]],
    )


NETWORKS = {"w1": w1_network, "w2": w2_network}


def run(workload: str, horizon: float, seed: int):
    """Simulate to ``horizon``; return (external arrivals, [(node, queue-entry time, wait)])."""
    ciw.seed(seed)
    q = ciw.Simulation(NETWORKS[workload]())
    q.simulate_until_max_time(horizon)
    records = q.get_all_records()
    visits = [(r.node - 1, r.arrival_date, r.waiting_time) for r in records if r.record_type == "service"]
    return q.nodes[0].number_of_individuals, visits
