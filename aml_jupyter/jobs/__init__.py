"""What runs on a compute target: scripts submitted as tracked runs (``aml submit``)."""
