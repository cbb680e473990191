"""The ``aml`` command, a surface: main.py (the parser and the run, experiment, snapshot and gc
commands), jobs.py, models.py, access.py, store.py (their commands), common.py (what every command
shares), tables.py (its two output forms: tables for people, JSON for scripts). ``aml`` itself
starts in launch.py, which hands quick commands to a warm process.
"""

from .main import build_parser as build_parser
from .main import main as main
