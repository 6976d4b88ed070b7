"""--cluster values: what connects where, and one clear line (exit 2) for a bad one, before
anything is built. The cluster itself is tested on real Ray nodes in test_cluster.py."""

from __future__ import annotations

import pytest

from edgekit.errors import UserError
from edgekit.harness.cluster import RayCluster, connect, is_loopback


@pytest.mark.parametrize("value, address", [("local", "local"), ("auto", "auto"),
                                            ("ray://10.0.0.5:10001", "ray://10.0.0.5:10001"),
                                            ("127.0.0.1:6379", "127.0.0.1:6379")])
def test_cluster_values(value, address):
    cl = connect(value)
    assert isinstance(cl, RayCluster) and cl.address == address
    assert connect(cl) is cl


@pytest.mark.parametrize("value", ["", "my-cluster"])
def test_bad_cluster_value_is_a_user_error(value):
    with pytest.raises(UserError, match="--cluster"):
        connect(value)


def test_loopback_addresses():
    assert is_loopback("local") and is_loopback("127.0.0.1:6379") and is_loopback("ray://localhost:10001")
    assert not is_loopback("ray://10.0.0.5:10001") and not is_loopback("auto")


def test_cli_bad_cluster_is_one_line_exit_2(run_cli):
    proc = run_cli("eval", "-t", "cortex-m4", "-m", "kws", "--cluster", "my-cluster")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--cluster my-cluster" in lines[0] and "ray://HOST:PORT" in lines[0], proc.stderr
