"""ipsecsim's tests, one folder per feature; a package so that helpers import as ``tests.helpers``.

* ``core/`` -- the sans-IO core's node and data plane: IpsecNode (two back to back, fuzzed),
  IP codecs, ESP, AH, replay, SPD/SAD, the stack, proposals, overhead.
* ``ike/`` -- IKEv2 in the core: codec, KDF, DH, AUTH, certificates, the engine back to back,
  lifecycle (rekey, DPD, delete), collisions, reauthentication, fragments, INITIAL_CONTACT,
  state enums, errors, the tasks' context.
* ``sim/`` -- the SimPy shell: network, NAT, gateways, topologies, ``ipsecsim run``/``check``, the
  trace as the simulator writes it.
* ``peer/`` -- the socket shell's pieces that need no sockets.
* ``viz/`` -- figures.
* ``interop/`` -- independent peers as oracles (strongSwan's charon, tshark, Scapy) and the
  harness that runs charon in network namespaces.
* ``notebooks/`` -- the teaching notebooks, run top to bottom.
* ``helpers/`` -- shared builders (SA pairs, IKE endpoint pairs, topologies) and the oracle
  checks (:func:`tests.helpers.oracles.need_tool`).
* ``vectors/`` -- published and captured test vectors, each with where it came from.
* ``test_import_contract.py`` -- which package may import which.
"""
