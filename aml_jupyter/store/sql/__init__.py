"""The SQL stores: SQLAlchemy Core over SQLite and PostgreSQL, one schema, numbered migrations.
Nothing outside ``aml_jupyter.store`` imports SQLAlchemy or the schema (a lint rule)."""
