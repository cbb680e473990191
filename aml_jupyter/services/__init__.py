"""The use cases every surface shares (the CLI, REST on both servers, the magics, the widgets):
each rule is checked here once, and surfaces reach the store only through these modules (a test
checks their imports and attributes).

runs.py       runs.create(RunSpec): the one way a run comes to exist (validate, bound a job's
              queue, prepare, insert); show (the one JSON shape), get, end, delete, heartbeats
jobs.py       the queue bound, cancelling, logs, targets (each job kind is submitted in jobs/)
search.py     searches, pages with tokens, the best run; downsample.py metric series for charts
models.py     the model registry: versions, aliases, lineage
datasets.py   registered datasets and their versions
access.py     roles, groups, tokens, the audit log
stores.py     the store as a whole: migrate, copy-store, health, URLs without passwords
"""
