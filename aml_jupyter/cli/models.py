"""The model commands of ``aml``: models list, show, lineage, download, alias, approve, register."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import where, workspace
from .tables import dumps, render_table


def _add_trust(sp: argparse.ArgumentParser) -> None:
    # Code-running flavors registered by someone else load only when asked (registry.check_trust).
    sp.add_argument(
        "--trust", action="store_true", help="load a pickle or score.py model someone else registered (runs their code)"
    )


def cmd_list(args: argparse.Namespace) -> None:
    from ..tracking.registry import list_models

    rows = list_models(workspace=where(args))
    if args.json:
        print(dumps(rows))
        return
    table = [
        [r["name"], r["latest"], r["versions"], ", ".join(f"@{a}={v}" for a, v in r["aliases"].items())] for r in rows
    ]
    print(render_table(["name", "latest", "versions", "aliases"], table))


def cmd_show(args: argparse.Namespace) -> None:
    from ..tracking.registry import get_model_version

    mv = get_model_version(args.ref, workspace=where(args))
    if args.json:
        print(dumps(mv.to_dict()))
        return
    lines = [
        f"model       {mv.ref}" + (f"  (@{', @'.join(mv.aliases)})" if mv.aliases else ""),
        f"flavor      {mv.flavor}",
        f"source      {json.dumps(mv.source, sort_keys=True)}",
        f"run         {mv.run_id or '-'}",
        f"content     {mv.content_hash}",
        f"signature   {json.dumps(mv.signature, sort_keys=True) if mv.signature else '-'}",
        f"tags        {', '.join(f'{k}={v}' for k, v in mv.tags.items()) or '-'}",
        "files:",
        *[f"  {f['path']}  {f['size']:,} bytes  {f['digest'][:12]}" for f in mv.files],
    ]
    print("\n".join(lines))


def cmd_lineage(args: argparse.Namespace) -> None:
    from ..services.models import model_lineage

    data = model_lineage(args.ref, workspace=workspace(args))
    if args.json:
        print(dumps(data))
        return
    run = data["run"]
    rows = [[f"dataset {d.get('name')}", d.get("uri") or d.get("digest") or "-"] for d in data["datasets"]]
    if run:
        rows.append(
            [
                f"run {run['id'][:8]}",
                f"{run['experiment']}/{run['name']} {run['status']}, snapshot {(run['snapshot_id'] or '-')[:12]}",
            ]
        )
    rows.append([f"model {data['model']['ref']}", f"{data['model']['flavor']}, {data['model']['content_hash'][:12]}"])
    rows += [[f"deployment {dep['name']}", f"{dep['target']} {dep['url'] or ''}"] for dep in data["deployments"]]
    print(render_table(["step", "detail"], rows))


def cmd_download(args: argparse.Namespace) -> None:
    from ..services.models import download_model

    print(f"wrote {args.ref} to {download_model(args.ref, args.to, workspace=workspace(args))}")


def cmd_approve(args: argparse.Namespace) -> None:
    from ..services.models import approve

    mv = approve(args.ref, workspace=workspace(args))
    print(f"{mv.ref} approved for deployment by {mv.tags['aml.approved_by'].split()[0]}")


def cmd_alias(args: argparse.Namespace) -> None:
    from ..services.models import set_model_alias

    mv = set_model_alias(args.name, args.alias, args.version, workspace=workspace(args))
    print(f"{args.name}@{args.alias} -> {mv.ref}")


def cmd_register(args: argparse.Namespace) -> None:
    from ..errors import InvalidValue
    from ..services.models import register_model

    tags = {}
    for item in args.tag or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidValue(f"--tag wants KEY=VALUE, not {item!r}")
        tags[key] = value
    mv = register_model(
        args.name,
        run=args.run,
        artifact=args.artifact,
        path=args.path,
        tags=tags,
        flavor=args.flavor,
        description=args.description,
        workspace=workspace(args),
    )
    if args.json:
        print(dumps({"name": mv.name, "version": mv.version, "ref": mv.ref}))
    else:
        print(f"registered {mv.ref} ({mv.flavor})")


def cmd_serve(args: argparse.Namespace) -> None:
    import os
    import secrets

    from ..serving.app import serve

    key = args.key or os.environ.get("AML_SERVE_KEY")
    if not key:
        key = secrets.token_urlsafe(24)
        print(f"key: {key}", flush=True)  # the one place the generated key is shown
    print(f"serving {args.ref} at http://{args.host}:{args.port}/score", flush=True)
    serve(
        args.ref,
        args.host,
        args.port,
        key,
        workspace=workspace(args),
        telemetry_file=os.environ.get("AML_TELEMETRY_FILE"),
        collect_dir=args.collect or os.environ.get("AML_COLLECT_DIR"),
        native=not args.no_native,
        trusted=args.trust,
    )


def cmd_package(args: argparse.Namespace) -> None:
    from ..services.packaging import package

    result = package(args.ref, args.output, score=args.score, build=args.build, tag=args.tag, workspace=workspace(args))
    if args.json:
        print(dumps(result))
    else:
        print(
            f"build context in {result['context']} (image {result['image']}" + (", built)" if result["built"] else ")")
        )


def _deploy_kubernetes(args: argparse.Namespace) -> None:
    from ..errors import InvalidValue
    from ..models.kubernetes import manifests, write_manifests
    from ..services.models import get_model_version

    if not args.output:
        raise InvalidValue("--target kubernetes writes manifests: give the folder with -o/--output")
    mv = get_model_version(args.ref, workspace=workspace(args))
    image = args.image or f"aml-{mv.name.lower().replace('_', '-')}:{mv.version}"
    docs = manifests(
        args.name,
        image,
        replicas=args.replicas,
        autoscale_min=args.autoscale_min,
        autoscale_max=args.autoscale_max,
        target_cpu=args.target_cpu,
        model=mv.ref,
    )
    paths = write_manifests(args.output, docs)
    if args.json:
        print(dumps({"manifests": [str(p) for p in paths], "image": image, "secret": f"{args.name}-key"}))
    else:
        print("\n".join(f"wrote {p}" for p in paths))
        print(f"create the key first: kubectl create secret generic {args.name}-key --from-literal=key=...")


def cmd_deploy(args: argparse.Namespace) -> None:
    from ..services.deployments import deploy

    if args.target == "kubernetes":
        _deploy_kubernetes(args)
        return
    result = deploy(
        args.ref, args.name, port=args.port, collect=args.collect, workspace=workspace(args), trusted=args.trust
    )
    if args.json:
        print(dumps({"url": result["url"], "key": result["key"]}))
    else:
        print(f"deployed {result['model']} as {result['name']} at {result['url']}/score\nkey: {result['key']}")


def cmd_deployments(args: argparse.Namespace) -> None:
    from ..services import deployments as d

    ws = workspace(args)
    if args.sub == "list":
        rows = d.list_deployments(ws)
        if args.json:
            print(dumps(rows))
            return
        table = [
            [
                r["name"],
                f"{r['model']}:{r['version']}",
                r["url"],
                r["status"],
                sum((r["telemetry"] or {}).get("requests", {}).values()),
            ]
            for r in rows
        ]
        print(render_table(["name", "model", "url", "status", "requests"], table))
    elif args.sub == "logs":
        print(d.logs(args.name, ws), end="")
    elif args.sub == "update":
        result = d.update(args.name, args.model, ws, trusted=args.trust)
        print(dumps(result) if args.json else f"{args.name} now serves {result['model']} at {result['url']}")
    elif args.sub == "delete":
        d.delete(args.name, ws)
        print(f"deleted deployment {args.name}")
    elif args.sub == "key":
        print(d.key_of(args.name, ws))


def add_model_commands(sub: Any, add: Any) -> None:
    """Register ``aml models ...`` on the ``aml`` parser."""
    models = sub.add_parser("models", help="the model registry").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    add(models, "list", cmd_list, "models, their newest version and aliases")
    sp = add(models, "show", cmd_show, "one version: NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("ref")
    sp = add(models, "lineage", cmd_lineage, "datasets -> run -> model version")
    sp.add_argument("ref")
    sp = add(models, "download", cmd_download, "write a version's files into a new folder", json=False)
    sp.add_argument("ref")
    sp.add_argument("--to", required=True)
    sp = add(models, "alias", cmd_alias, "point NAME@ALIAS at a version", json=False)
    sp.add_argument("name")
    sp.add_argument("alias")
    sp.add_argument("version", type=int)
    sp = add(
        models, "approve", cmd_approve, "approve a version for deployment ([deployments] require_approval)", json=False
    )
    sp.add_argument("ref", help="NAME:VERSION")
    sp = add(models, "register", cmd_register, "register a version from a run's artifact or a local path")
    sp.add_argument("name")
    sp.add_argument("--run", default=None)
    sp.add_argument("--artifact", default=None)
    sp.add_argument("--path", default=None)
    sp.add_argument("--flavor", default=None)
    sp.add_argument("--tag", action="append", metavar="KEY=VALUE")
    sp.add_argument("--description", default=None)
    sp = add(sub, "serve", cmd_serve, "serve a model version over HTTP (POST /score) until interrupted", json=False)
    sp.add_argument("ref")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--key", default=None, help="the bearer key clients send (default: $AML_SERVE_KEY, else a new one)")
    sp.add_argument("--collect", default=None, metavar="DIR", help="collect inputs and predictions as Parquet in DIR")
    sp.add_argument(
        "--no-native", action="store_true", help="load scikit-learn even where the version has a native predictor"
    )
    _add_trust(sp)
    sp = add(sub, "deploy", cmd_deploy, "deploy a model version as a supervised local service")
    sp.add_argument("ref")
    sp.add_argument("--name", required=True)
    sp.add_argument("--target", choices=["local", "kubernetes"], default="local")
    sp.add_argument("--port", type=int, default=None, help="local: the port (default: a free one)")
    sp.add_argument("--collect", action="store_true", help="local: collect inputs and predictions (Parquet)")
    _add_trust(sp)
    sp.add_argument("-o", "--output", default=None, help="kubernetes: the folder for the manifests")
    sp.add_argument("--image", default=None, help="kubernetes: the image (default: the one aml package names)")
    sp.add_argument("--replicas", type=int, default=2)
    sp.add_argument("--autoscale-min", type=int, default=None)
    sp.add_argument("--autoscale-max", type=int, default=10)
    sp.add_argument("--target-cpu", type=int, default=70)
    sp = add(sub, "package", cmd_package, "write a container build context (Dockerfile and all) for a model version")
    sp.add_argument("ref")
    sp.add_argument("-o", "--output", required=True)
    sp.add_argument("--score", default=None, help="a score.py (init, run) to serve the files with")
    sp.add_argument("--build", action="store_true", help="run docker build (needs a Docker engine)")
    sp.add_argument("--tag", default=None)
    deps = sub.add_parser("deployments", help="deployed model services").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    add(deps, "list", cmd_deployments, "deployments, their model, URL, status and request count")
    for action, text in (
        ("logs", "what the service printed"),
        ("delete", "stop it and forget it"),
        ("key", "print its key (owner only)"),
    ):
        sp = add(deps, action, cmd_deployments, text, json=False)
        sp.add_argument("name")
    sp = add(deps, "update", cmd_deployments, "serve another version under the same URL and key")
    sp.add_argument("name")
    sp.add_argument("--model", required=True)
    _add_trust(sp)
