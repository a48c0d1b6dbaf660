"""A reusable interop harness: network namespaces, strongSwan's charon, ``ipsecsim peer``.

* :mod:`.netns` -- a pair of network namespaces joined by a veth pair, each with
  inner addresses on its loopback; created with unique names, removed on close.
* :mod:`.swanctl` -- swanctl.conf text from the same swanctl-shaped dict that
  ipsecsim's YAML uses; a strongswan.conf for one private charon.
* :mod:`.charon` -- one charon (userland ESP ``kernel-libipsec``) in its own mount
  namespace with a private /run, its own vici socket and a file log; stopped by PID.
* :mod:`.logs` -- reading SK_* and ESP keys out of charon's log.

Tests reach these as ``from tests.interop.<module> import ...``; the ``test_*.py`` files beside
them are the tests that use independent implementations (charon, tshark, Scapy) as oracles.
"""
