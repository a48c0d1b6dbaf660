"""Tests of the node console (ipsecsim.console)."""
