"""Health outcomes: each person's course of illness (remission, relapse, death), QALYs and the
costs a health economist needs, computed from a replication's records and a scenario's
``health:`` block. The engine knows nothing of it: the pathway drives the course."""
