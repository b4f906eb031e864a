"""Adapters: implementations of the domain ports over real backends and in memory."""
