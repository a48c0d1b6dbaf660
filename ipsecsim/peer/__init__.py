"""``ipsecsim peer``: the sans-IO core on real UDP sockets and the real clock.

* :mod:`.runner` -- the socket loop (UDP 500 and 4500, one selector, timers from the engine).
* :mod:`.config` -- the YAML of ``ipsecsim peer CONFIG`` (``listen``, ``inner_addrs``, ``wireshark``)
  and the node made from it (``make_node``: keys from the operating system).
* :mod:`.dataplane` -- ESP in UDP (RFC 3948) to and from the :class:`IPsecStack`, and the
  ICMP/UDP echo responder for the peer's ``inner_addrs``.

``ipsecsim peer CONFIG [-v]`` itself is :mod:`ipsecsim.cli.peer`.
"""
