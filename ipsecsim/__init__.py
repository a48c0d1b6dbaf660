"""ipsecsim: a discrete-event simulator and teaching visualiser for IPsec.

The sans-IO protocol core lives in :mod:`ipsecsim.core` (codecs, algorithm tables,
ESP/AH, SPD/SAD, IKEv2); :mod:`ipsecsim.sim` drives it in SimPy time and
:mod:`ipsecsim.peer` on real UDP sockets; :mod:`ipsecsim.viz` draws what the trace
(:mod:`ipsecsim.trace`) recorded and :mod:`ipsecsim.export` writes it for Wireshark;
:mod:`ipsecsim.cli` is the ``ipsecsim`` command.
"""

__version__ = "0.1.0"
