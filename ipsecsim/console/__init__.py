"""The node console: what an administrator types on a simulated gateway, and what it prints."""
