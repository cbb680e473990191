"""The use cases every surface shares (CLI, REST, magics, widgets): each rule is checked here once.

So far: :mod:`.access` (roles, groups, audit, tokens). Runs, jobs and search still live in
``tracking`` and ``jobs``; they move here step by step.
"""
