"""Persistence of a workspace's runs, models, datasets and roles, beside the code that uses them."""
