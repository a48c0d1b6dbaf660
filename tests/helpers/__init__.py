"""Helpers shared by the test folders (import them as ``tests.helpers.<module>``).

* :mod:`.dataplane` -- algorithm sets and manual-keyed SA pairs for the ESP/AH tests.
* :mod:`.ike_pair` -- two IKE endpoints wired back to back, time stepped by hand.
* :mod:`.sim_topos` -- small topologies as dicts and the packet conservation check.
* :mod:`.oracles` -- ``need_tool``/``need_root``: skip, or fail under ``IPSECSIM_REQUIRE_ORACLES=1``.
* :mod:`.paths` -- where the repository's topologies, notebooks and vectors are.
"""
