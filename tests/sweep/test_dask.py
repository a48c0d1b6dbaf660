"""Issue 16's "done means": a sweep on a LocalCluster of 2 workers gives the DataFrame the same
sweep gives run serially -- rows in grid order however the runs finish, every figure equal."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from ipsecsim.sweeps import sweep
from tests.sweep.helpers import small


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0",
                      host="127.0.0.1", silence_logs=logging.ERROR) as c:
        yield c


def test_two_workers_give_the_serial_dataframe(cluster: LocalCluster) -> None:
    serial = sweep(small(), workers=0)
    parallel = sweep(small(), scheduler=cluster.scheduler_address)  # as --scheduler does
    assert len(serial) == 4
    assert list(serial["links.wan-a.loss"]) == [0, 0, 0.05, 0.05]
    assert list(serial["traffic.voice.size"]) == [200, 1200, 200, 1200]
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert parallel.to_csv(index=False) == serial.to_csv(index=False)
    # loss made a difference, so the workers' seeding was checked, not only their arithmetic
    assert serial["packets.delivered"].nunique() > 1


def test_a_client_can_be_handed_in_and_is_left_open(cluster: LocalCluster) -> None:
    with Client(cluster) as client:
        df = sweep(small(seeds=[3, 4]), client=client)
        assert client.status == "running"
        assert len(df) == 8 and list(df["seed"]) == [3, 4] * 4
        assert len(client.scheduler_info()["workers"]) == 2
