"""Model management: the registry (versions, aliases, lineage) and the flavors that save and load models."""
