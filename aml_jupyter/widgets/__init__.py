"""ipywidgets panels, charts by bqplot. Importing this package imports ipywidgets (the ``widgets`` extra).

Example:
    >>> import aml_jupyter as aml  # doctest: +SKIP
    >>> aml.widgets.RunHistory("iris")  # doctest: +SKIP
"""

from .by_example import ByExample
from .dashboard import Dashboard
from .profile_view import ProfileView
from .publish_model import PublishModel
from .run_details import RunDetails
from .run_history import RunHistory
from .split_by_example import SplitByExample
from .sweep_progress import SweepProgress

__all__ = [
    "ByExample",
    "Dashboard",
    "ProfileView",
    "PublishModel",
    "RunDetails",
    "RunHistory",
    "SplitByExample",
    "SweepProgress",
]
