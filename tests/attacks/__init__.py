"""Adversary nodes (issue 15): each attack of ``ipsecsim/sim/attacker.py`` and what the victim
counts for it."""
