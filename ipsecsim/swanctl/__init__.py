"""Real strongSwan configurations: swanctl folders and strongswan.conf, read as strongSwan reads them.

* :mod:`.parser` -- strongSwan's settings syntax as a located tree (text in, no I/O);
* :mod:`.convert` -- the tree -> the swanctl-shaped dict :meth:`IkeConfig.from_dict` reads,
  with a warning for every key the simulator does not model (:mod:`.keys`);
* :mod:`.credentials` -- ``x509/``, ``x509ca/``, ``private/``, ``rsa/``, ``ecdsa/``,
  ``pkcs8/``, ``pubkey/`` read with ``cryptography`` (bytes in);
* :mod:`.strongswan_conf` -- the ``charon.*`` options the simulator models;
* :mod:`.load` -- the file access: :func:`load_swanctl` reads a folder into an IkeConfig.
"""

from .convert import convert, locate
from .credentials import Credentials
from .load import SwanctlConfig, load_strongswan_conf, load_swanctl, read_settings
from .parser import Section, Setting, parse
from .strongswan_conf import apply_charon_options, charon_options

__all__ = [
    "Credentials",
    "Section",
    "Setting",
    "SwanctlConfig",
    "apply_charon_options",
    "charon_options",
    "convert",
    "load_strongswan_conf",
    "load_swanctl",
    "locate",
    "parse",
    "read_settings",
]
