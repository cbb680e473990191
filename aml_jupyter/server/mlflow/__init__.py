"""MLflow's REST API on aml's servers, for MLflow clients logging to aml unchanged: the wire format
(``wire``) and the routes by resource (``experiments``, ``runs``, ``artifacts``); docs/mlflow.md."""
