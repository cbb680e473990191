"""The REST API's handlers, a module per resource; server/routes.py binds each to its route."""
