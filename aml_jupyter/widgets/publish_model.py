"""PublishModel: from "the best run by a metric" to a registered model, a local deployment and a
smoke-test request, in one form. Each step says what it did, or why it could not, as text.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..workspace import Workspace


class PublishModel:
    """The form. Pick an experiment, a metric and a goal, then **Find best run**; pick its
    artifact and a model name, **Register**; name a deployment, **Deploy**; edit the sample and
    **Smoke test**. ``state`` holds what each step produced.

    Example:
        >>> form = PublishModel(workspace=ws)  # doctest: +SKIP
        >>> form.experiment.value, form.metric.value = "iris", "acc"  # doctest: +SKIP
        >>> form.find.click(); form.state["run"]  # doctest: +SKIP
        '3f2a9c1b...'
    """

    def __init__(self, experiment: str | None = None, workspace: Workspace | str | None = None) -> None:
        import ipywidgets as w

        self.ws = Workspace.open(workspace)
        self.state: dict[str, Any] = {}
        from ..services import runs

        names = [e["name"] for e in runs.experiments(self.ws)]
        self.experiment = w.Dropdown(description="experiment", options=names, value=experiment or None)
        # Suggests the metrics the chosen experiment's runs logged; a placeholder that says what to
        # do, not one that looks like a value already filled in.
        self.metric = w.Combobox(description="metric", placeholder="pick or type a metric", ensure_option=False)
        self.experiment.observe(lambda _: self._suggest_metrics(), names="value")
        self._suggest_metrics()
        self.goal = w.ToggleButtons(options=["max", "min"], value="max")
        self.find = w.Button(description="Find best run", button_style="info")
        self.run_label = w.Label()
        self.artifact = w.Dropdown(description="artifact", options=[])
        self.model_name = w.Text(description="model name")
        self.register = w.Button(description="Register", disabled=True)
        self.version_label = w.Label()
        self.deployment = w.Text(description="deployment")
        self.deploy = w.Button(description="Deploy locally", disabled=True)
        self.deploy_label = w.Label()
        self.sample = w.Textarea(description="sample", value='{"data": [[0.0]]}')
        self.smoke = w.Button(description="Smoke test", disabled=True)
        self.answer = w.Label()
        self.message = w.Label()
        self.find.on_click(lambda _: self._step(self._find))
        self.register.on_click(lambda _: self._step(self._register))
        self.deploy.on_click(lambda _: self._step(self._deploy))
        self.smoke.on_click(lambda _: self._step(self._smoke))
        self.box = w.VBox(
            [
                w.HBox([self.experiment, self.metric, self.goal, self.find]),
                self.run_label,
                w.HBox([self.artifact, self.model_name, self.register]),
                self.version_label,
                w.HBox([self.deployment, self.deploy]),
                self.deploy_label,
                w.HBox([self.sample, self.smoke]),
                self.answer,
                self.message,
            ]
        )

    def _step(self, fn: Any) -> None:
        from ..errors import AmlError

        self.message.value = ""
        try:
            fn()
        except (AmlError, ValueError, OSError) as exc:
            self.message.value = f"{type(exc).__name__}: {exc}"

    def _suggest_metrics(self) -> None:
        from ..errors import AmlError
        from ..tracking.queries import search_runs

        if not self.experiment.value:
            self.metric.options = []
            return
        try:
            frame = search_runs(experiments=self.experiment.value, max_results=500, workspace=self.ws)
        except AmlError:
            return
        keys = sorted(c[len("metrics.") :] for c in frame.columns if c.startswith("metrics."))
        self.metric.options = keys
        if len(keys) == 1 and not self.metric.value:
            self.metric.value = keys[0]  # the only choice there is

    def _find(self) -> None:
        from ..tracking.queries import best_run

        if not self.experiment.value or not self.metric.value.strip():
            raise ValueError("choose an experiment, then the metric that decides the best run")
        run = best_run(self.experiment.value, self.metric.value.strip(), self.goal.value, workspace=self.ws)
        value = run.metrics.get(self.metric.value.strip())
        self.state = {"run": run.id}
        self.run_label.value = f"best run {run.id[:8]} ({run.info.name}): {self.metric.value} = {value}"
        names = sorted({a.name for a in run.info.artifacts} | {a.name.split("/")[0] for a in run.info.artifacts})
        self.artifact.options = names
        self.artifact.value = next((n for n in names if n in ("model", "model.skops")), names[0] if names else None)
        self.model_name.value = self.model_name.value or self.experiment.value
        self.register.disabled = not names
        self.deploy.disabled = self.smoke.disabled = True

    def _register(self) -> None:
        from ..services.models import register_model

        if "run" not in self.state or not self.artifact.value:
            raise ValueError("find the best run first")
        mv = register_model(
            self.model_name.value.strip(), run=self.state["run"], artifact=self.artifact.value, workspace=self.ws
        )
        self.state["version"] = mv.ref
        self.version_label.value = f"registered {mv.ref} ({mv.flavor})"
        if mv.signature:
            from ..serving.app import openapi

            example = openapi(mv.ref, mv.signature)["paths"]["/score"]["post"]["requestBody"]["content"]
            self.sample.value = json.dumps(example["application/json"]["example"])
        self.deployment.value = self.deployment.value or mv.name.lower().replace("_", "-")
        self.deploy.disabled = False

    def _deploy(self) -> None:
        from ..services.deployments import deploy

        if "version" not in self.state:
            raise ValueError("register a version first")
        info = deploy(self.state["version"], self.deployment.value.strip(), workspace=self.ws)
        self.state["deployment"] = {"name": self.deployment.value.strip(), "url": info["url"], "key": info["key"]}
        self.deploy_label.value = f"{self.deployment.value.strip()} serves {self.state['version']} at {info['url']}"
        self.smoke.disabled = False

    def _smoke(self) -> None:
        dep = self.state.get("deployment")
        if dep is None:
            raise ValueError("deploy first")
        body = json.loads(self.sample.value)
        req = urllib.request.Request(
            dep["url"] + "/score",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {dep['key']}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                answer = json.loads(resp.read())
                status = resp.status
        except urllib.error.HTTPError as exc:
            with exc:
                answer, status = json.loads(exc.read() or b"{}"), exc.code
        self.state["response"] = {"status": status, "body": answer}
        self.answer.value = f"HTTP {status}: {json.dumps(answer)[:500]}"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)
