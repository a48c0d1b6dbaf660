"""The network simulation: SimPy nodes and links around the sans-IO IPsec/IKE core.

Notebook use::

    from ipsecsim.sim import Simulation
    sim = Simulation.from_file("topologies/site-to-site.yaml").run(5)
    sim.summary()["packets"]            # sent / delivered / dropped by reason / in flight
    sim.dataframes()["drops"]           # pandas: packets, app, ike, sas, drops, notes
    sim.node("gw-a").stack.sa_entries() # the SAD of a gateway
    sim.run(10)                         # step on

Modules: :mod:`.topology` (YAML + schema + line-numbered errors), :mod:`.runner`
(:class:`Simulation`), :mod:`.network`, :mod:`.link`, :mod:`.nodes`, :mod:`.gateway`,
:mod:`.nat`, :mod:`.routing`, :mod:`.traffic`, :mod:`.summary`,
:mod:`.output` (pcaps, Wireshark keys), :mod:`.figures`; ``ipsecsim run``/``check`` are
:mod:`ipsecsim.cli.run`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Simulation", "TopologyError", "load"]


def __getattr__(name: str) -> Any:  # lazy, so `ipsecsim check` does not import SimPy
    if name == "Simulation":
        from .runner import Simulation

        return Simulation
    if name in ("TopologyError", "load"):
        from . import topology

        return getattr(topology, name)
    raise AttributeError(name)
