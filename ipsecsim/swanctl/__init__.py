"""Real strongSwan configurations: swanctl folders and strongswan.conf, read as strongSwan reads them.

* :mod:`.parser` -- strongSwan's settings syntax as a located tree (text in, no I/O).
"""

from .parser import Section, Setting, parse

__all__ = ["Section", "Setting", "parse"]
