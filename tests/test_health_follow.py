"""From a replication's records to each person's course (``health.follow``): arrival numbers, and
the courses the engine ran matched to the people followed."""

import numpy as np

from icssim.health.follow import _engine_courses, arrival_numbers


def test_arrival_numbers_count_each_cohort_in_pid_order():
    pid = np.array([4, 0, 3, 1, 2, 5])
    cohort = np.array([1, 0, 0, 1, 0, 1])
    # by pid: 0 (cohort 0), 1 (1), 2 (0), 3 (0), 4 (1), 5 (1)
    assert arrival_numbers(cohort, pid).tolist() == [1, 0, 2, 0, 1, 2]


def test_the_engines_pids_and_any_others_give_the_same_numbers():
    """The engine numbers its people 0 … n - 1 (no sort needed); other pids are sorted."""
    rng = np.random.default_rng(3)
    pid = rng.permutation(5000)
    cohort = rng.integers(0, 3, 5000)
    numbers = arrival_numbers(cohort, pid)
    assert np.array_equal(arrival_numbers(cohort, pid * 7 + 11), numbers)  # not 0 … n - 1: sorted
    for c in range(3):
        mine = cohort == c
        assert sorted(numbers[mine].tolist()) == list(range(int(mine.sum())))
        assert np.array_equal(np.argsort(numbers[mine]), np.argsort(pid[mine]))
    assert arrival_numbers(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []


def test_each_person_followed_gets_the_course_the_engine_ran_for_them():
    courses = {7: "a", 2: "b", 40: "c"}  # the engine's, by pid (40 is not followed)
    followed = np.array([5, 2, 9, 7, 1])
    assert _engine_courses(courses, followed) == [None, "b", None, "a", None]
    assert _engine_courses({}, followed) == [None] * 5 and _engine_courses(courses, followed[:0]) == []
