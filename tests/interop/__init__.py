"""A reusable interop harness: network namespaces, strongSwan's charon, ``ipsecsim peer``.

* :mod:`interop.netns` -- a pair of network namespaces joined by a veth pair, each with
  inner addresses on its loopback; created with unique names, removed on close.
* :mod:`interop.swanctl` -- swanctl.conf text from the same swanctl-shaped dict that
  ipsecsim's YAML uses; a strongswan.conf for one private charon.
* :mod:`interop.charon` -- one charon (userland ESP ``kernel-libipsec``) in its own mount
  namespace with a private /run, its own vici socket and a file log; stopped by PID.
* :mod:`interop.logs` -- reading SK_* and ESP keys out of charon's log.

Tests reach these through ``from interop import ...`` (tests/ is on sys.path).
"""
