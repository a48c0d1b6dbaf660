"""What a run hands to other tools: captures and the keys to read them.

* :mod:`.pcap` -- pcap files (LINKTYPE_RAW), one per link, from the trace's ``link_tx`` records.
* :mod:`.wireshark` -- a Wireshark configuration folder (``esp_sa``,
  ``ikev2_decryption_table``, ``preferences``) that decrypts those captures.
* :mod:`.keylog` -- the same folder kept up to date from IKE engine events, for
  ``ipsecsim peer`` (``wireshark: DIR``).

Everything here reads the trace, the core's key material and its algorithm table; nothing
imports the simulator or the socket shell.
"""
