"""ipsecsim: a discrete-event simulator and teaching visualiser for IPsec.

The sans-IO protocol core lives in :mod:`ipsecsim.core` (codecs, algorithm tables,
ESP/AH, SPD/SAD, IKEv2); :mod:`ipsecsim.sim` drives it in SimPy time and
:mod:`ipsecsim.peer` on real UDP sockets; :mod:`ipsecsim.viz` draws what the trace
(:mod:`ipsecsim.trace`) recorded and :mod:`ipsecsim.export` writes it for Wireshark;
:mod:`ipsecsim.cli` is the ``ipsecsim`` command; :func:`ipsecsim.sweep` (:mod:`ipsecsim.sweeps`)
runs a topology over a grid of parameters on Dask and returns a pandas DataFrame.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:  # lazy: importing ipsecsim loads neither pandas nor Dask
    if name == "sweep":
        from .sweeps import sweep

        return sweep
    raise AttributeError(f"module 'ipsecsim' has no attribute {name!r}")
