"""The node console: commands typed on a simulated node, answered as the real tools answer
(``swanctl``, ``ping``, ``ip xfrm``, ``cat /var/log/daemon.log``), and the charon log."""
