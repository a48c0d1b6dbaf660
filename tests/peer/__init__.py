"""The socket shell (`ipsecsim peer`): the pieces that need no sockets."""
