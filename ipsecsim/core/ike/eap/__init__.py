"""EAP (RFC 3748) for IKEv2 (RFC 7296 §2.16): packets, methods, conversations (``ikeauth`` joins them to IKE_AUTH)."""
