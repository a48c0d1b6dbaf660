"""The sans-IO core: no SimPy, no sockets, no clock. Time comes in as ``now``."""
