"""The tracking API over HTTP: the handlers (``api``), the ``aml server`` command (``http``)."""
