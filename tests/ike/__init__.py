"""IKEv2 in the sans-IO core: codecs, keys, AUTH, the engine back to back, SA lifecycle."""
