"""IKEv2 (RFC 7296) in the sans-IO core.

Wire format and key material: :mod:`.message` (payloads, IkeMessage,
encode/decode), :mod:`.sk` (the SK payload), :mod:`.kdf` (prf, prf+, SKEYSEED,
KEYMAT) and :mod:`.dh` (Diffie-Hellman groups). The engine (endpoint, tasks)
and authentication build on these.
"""
