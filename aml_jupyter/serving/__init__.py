"""The scoring service, a surface: app.py (the Starlette app ``aml serve`` and deployments run) and container.py
(``python -m aml_jupyter.serving.container``, the same app inside a packaged image)."""
