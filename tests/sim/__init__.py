"""The SimPy shell: networks, NAT, gateways, topology files, `ipsecsim run` and `check`."""
