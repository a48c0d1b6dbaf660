"""Figures drawn from the trace, from built packets and from the engine's tables."""
