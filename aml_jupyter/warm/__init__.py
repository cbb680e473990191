"""Warm processes: interpreters with the heavy modules imported, forking a child per command or cell."""
