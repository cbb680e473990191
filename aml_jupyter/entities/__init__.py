"""Pure values and rules, with no I/O: the floor every other one stands on (docs/design.md draws the floors).

records (runs and artifacts and their JSON shape), lifecycle (the run's state machine), filter (the
search grammar), series (packed metric points), validation (keys, values, names), media (figures and
tables as bytes), kernel (the tags naming a run's kernel).
"""
