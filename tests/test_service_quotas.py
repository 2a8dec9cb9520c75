"""Daily quotas: whole requests granted or refused, counted per partner, category and UTC
day, kept across restarts, never exceeded by concurrent takers."""

from __future__ import annotations

import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.service.quotas import QuotaDecision, Quotas, quota_day
from matcher.store import STORE_FILE, Store

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / STORE_FILE, create=True)
    yield opened
    opened.close()


@pytest.fixture
def quotas(store):
    with Quotas(store) as opened:
        yield opened


def test_grants_whole_requests_and_refuses_without_consuming(quotas):
    assert quotas.take("DE", "dna", 60, 100, NOON) == QuotaDecision(True, 60, 100, 40)
    assert quotas.take("DE", "dna", 41, 100, NOON) == QuotaDecision(False, 60, 100, 40)
    assert quotas.usage("DE", "dna", NOON) == 60      # the refused 41 were not counted
    assert quotas.take("DE", "dna", 40, 100, NOON) == QuotaDecision(True, 100, 100, 0)
    assert quotas.take("DE", "dna", 1, 100, NOON).granted is False
    assert quotas.take("DE", "dna", 0, 100, NOON) == QuotaDecision(True, 100, 100, 0)


def test_partners_and_categories_count_separately(quotas):
    quotas.take("DE", "finger", 100, 100, NOON)
    assert quotas.take("DE", "finger_latent", 20, 20, NOON).granted
    assert quotas.take("BE", "finger", 1, 100, NOON).granted
    assert quotas.take("DE", "finger", 1, 100, NOON).granted is False
    assert quotas.usage("BE", "finger", NOON) == 1 and quotas.usage("DE", "vehicle", NOON) == 0


def test_no_limit_still_counts_and_zero_limit_refuses(quotas):
    assert quotas.take("NL", "vehicle", 5, None, NOON) == QuotaDecision(True, 5, None, None)
    assert quotas.usage("NL", "vehicle", NOON) == 5
    assert quotas.take("NL", "dna", 1, 0, NOON) == QuotaDecision(False, 0, 0, 0)


def test_counters_survive_a_restart(tmp_path):
    path = tmp_path / STORE_FILE
    store = Store(path, create=True)
    with Quotas(store) as quotas:
        quotas.take("DE", "dna", 7, 10, NOON)
    store.close()
    store = Store(path)
    with Quotas(store) as quotas:
        assert quotas.usage("DE", "dna", NOON) == 7
        assert quotas.take("DE", "dna", 4, 10, NOON).granted is False
        assert quotas.take("DE", "dna", 3, 10, NOON).granted
    store.close()


def test_days_roll_over_at_midnight_utc(quotas):
    last_second = datetime(2025, 3, 1, 23, 59, 59, 999_999, tzinfo=timezone.utc)
    quotas.take("DE", "dna", 10, 10, last_second)
    assert quotas.take("DE", "dna", 1, 10, last_second).granted is False
    assert quotas.take("DE", "dna", 10, 10, last_second + timedelta(microseconds=1)).granted
    # 01:30 in Brussels summer time is still the previous day in UTC.
    cest = timezone(timedelta(hours=2))
    assert quota_day(datetime(2025, 3, 2, 1, 30, tzinfo=cest)) == "2025-03-01"
    assert quotas.usage("DE", "dna", datetime(2025, 3, 2, 1, 30, tzinfo=cest)) == 10
    assert quotas.usage("DE", "dna", datetime(2025, 3, 2, 2, 30, tzinfo=cest)) == 10
    assert quotas.usage("DE", "dna", datetime(2025, 3, 3, tzinfo=timezone.utc)) == 0
    assert quotas.forget_before("2025-03-02") == 1
    assert quotas.usage("DE", "dna", last_second) == 0


@pytest.mark.parametrize("args, message", [
    (("DE", "dna", -1, 10), "count"), (("DE", "dna", 1.5, 10), "count"),
    (("DE", "dna", True, 10), "count"), (("DE", "dna", 1, -1), "limit"),
    (("", "dna", 1, 10), "partner"), (("DE", None, 1, 10), "category"),
])
def test_bad_arguments_are_errors(quotas, args, message):
    with pytest.raises(ValueError, match=message):
        quotas.take(*args, now=NOON)


def test_naive_time_is_an_error(quotas):
    with pytest.raises(ValueError, match="time zone"):
        quotas.take("DE", "dna", 1, 10, datetime(2025, 3, 1, 12))


@pytest.mark.parametrize("separate_stores", [False, True], ids=["threads", "connections"])
def test_concurrent_takers_never_pass_the_limit(tmp_path, separate_stores):
    """Eight takers race for 100 queries.  With separate Store objects only SQLite's own
    locking keeps them apart, as it does for two processes on one home."""
    path = tmp_path / STORE_FILE
    Store(path, create=True).close()
    limit, takers, attempts = 100, 8, 40
    shared = Quotas(Store(path))
    granted = [0] * takers
    start = threading.Barrier(takers)

    def work(k: int) -> None:
        quotas = Quotas(Store(path)) if separate_stores else shared
        start.wait()
        for i in range(attempts):
            count = 1 + (k + i) % 3
            if quotas.take("DE", "dna", count, limit, NOON).granted:
                granted[k] += count
        if separate_stores:
            quotas.close()
            quotas.store.close()

    workers = [threading.Thread(target=work, args=(k,)) for k in range(takers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(granted) == shared.usage("DE", "dna", NOON) <= limit
    assert sum(granted) >= limit - 2   # demand far exceeds supply: at most a sliver unused
    shared.close()
    shared.store.close()


_takes = st.lists(st.tuples(st.sampled_from(["DE", "BE"]), st.sampled_from(["dna", "finger"]),
                            st.integers(0, 12), st.one_of(st.none(), st.integers(0, 30)),
                            st.integers(0, 2)), max_size=25)


@settings(max_examples=40, deadline=None)
@given(_takes)
def test_matches_a_plain_counter_model(takes):
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / STORE_FILE, create=True)
        model: dict[tuple, int] = {}
        with Quotas(store) as quotas:
            for partner, category, count, limit, day in takes:
                now = NOON + timedelta(days=day)
                key = (partner, category, day)
                used = model.get(key, 0)
                granted = limit is None or used + count <= limit
                if granted:
                    model[key] = used + count
                expected = QuotaDecision(granted, model.get(key, 0), limit,
                                         None if limit is None else max(0, limit - model.get(key, 0)))
                assert quotas.take(partner, category, count, limit, now) == expected
            for (partner, category, day), used in model.items():
                assert quotas.usage(partner, category, NOON + timedelta(days=day)) == used
        store.close()
