"""``aml deploy --target kubernetes``: Deployment, Service and HorizontalPodAutoscaler manifests.

The pods run the image ``aml package`` builds, with probes on ``/health``, resource requests and
limits, a non-root security context, and the service key taken from a Secret (``NAME-key``, key
``key``) that the manifests reference but never contain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import InvalidPath, InvalidValue

_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def manifests(
    name: str,
    image: str,
    replicas: int = 2,
    autoscale_min: int | None = None,
    autoscale_max: int = 10,
    target_cpu: int = 70,
    cpu: str = "250m",
    memory: str = "256Mi",
    model: str = "",
) -> list[dict[str, Any]]:
    """The three manifests as dicts.

    Example:
        >>> [m["kind"] for m in manifests("iris", "aml-iris-clf:3")]
        ['Deployment', 'Service', 'HorizontalPodAutoscaler']
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidValue(f"{name!r} is not a Kubernetes name (lower-case letters, digits, '-')")
    if not image or any(c.isspace() for c in image):
        raise InvalidValue(f"{image!r} is not an image reference")
    low = autoscale_min if autoscale_min is not None else replicas
    if not 1 <= low <= autoscale_max or replicas < 1 or not 1 <= target_cpu <= 100:
        raise InvalidValue("need 1 <= replicas, 1 <= autoscale min <= autoscale max, and 1 <= target CPU <= 100")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "aml_jupyter"}
    probe = {"httpGet": {"path": "/health", "port": 8000}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": "scoring",
        "image": image,
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [{"name": "AML_SERVE_KEY", "valueFrom": {"secretKeyRef": {"name": f"{name}-key", "key": "key"}}}],
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 30},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "allowPrivilegeEscalation": False},
    }
    annotations = {"aml.jupyter/model": model} if model else {}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "selector": {"app.kubernetes.io/name": name},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": low,
                "maxReplicas": autoscale_max,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": target_cpu},
                        },
                    }
                ],
            },
        },
    ]


def write_manifests(out: str | Path, docs: list[dict[str, Any]]) -> list[Path]:
    """Write one YAML file per manifest into the new (or empty) folder ``out``.

    Example:
        >>> write_manifests("k8s", manifests("iris", "aml-iris-clf:3"))  # doctest: +SKIP
        [PosixPath('k8s/deployment.yaml'), PosixPath('k8s/service.yaml'), PosixPath('k8s/horizontalpodautoscaler.yaml')]
    """
    import yaml

    dest = Path(out)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidPath(f"{dest} exists and is not empty; write the manifests into a new folder", path=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc in docs:
        path = dest / f"{doc['kind'].lower()}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths
