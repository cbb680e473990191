"""The model registry: versions, aliases, lineage, flavors and the trust rules for code-running formats."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidPath, InvalidValue, ModelNotFound, RunNotFound, UntrustedModel
from aml_jupyter.models.flavors import PickleFlavor
from aml_jupyter.services.maintenance import collect_garbage
from aml_jupyter.services.models import versions_of_run
from aml_jupyter.workspace import Workspace

AML = str(Path(sys.executable).with_name("aml"))


def _classifier() -> tuple[object, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(80, 4))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int)), x


def test_versions_aliases_and_loading(ws: Workspace) -> None:
    clf, x = _classifier()
    first = aml.register_model("iris-clf", model=clf, tags={"team": "a"}, sample_input=x[:5], workspace=ws)
    second = aml.register_model("iris-clf", model=clf, workspace=ws)
    assert (first.version, second.version) == (1, 2) and first.flavor == "sklearn"
    assert first.signature == {"type": "ndarray", "shape": [None, 4], "dtype": "float64", "example": x[:2].tolist()}
    assert first.tags == {"team": "a"} and [f["path"] for f in first.files] == ["model.skops", "model.native.npz"]
    assert first.source["native"] == "model.native.npz"  # numpy-only scoring, checked against the estimator
    aml.set_model_alias("iris-clf", "production", 1, workspace=ws)
    assert aml.get_model_version("iris-clf@production", workspace=ws).version == 1
    assert aml.get_model_version("iris-clf", workspace=ws).version == 2  # the newest
    aml.set_model_alias("iris-clf", "production", 2, workspace=ws)  # an alias moves
    assert aml.get_model_version("iris-clf:2", workspace=ws).aliases == ["production"]
    loaded = aml.load_model("iris-clf@production", workspace=ws)
    assert loaded.predict(x).tolist() == clf.predict(x).tolist()  # type: ignore[attr-defined]
    assert aml.list_models(workspace=ws) == [
        {"name": "iris-clf", "latest": 2, "versions": 2, "aliases": {"production": 2}, "description": None}
    ]


def test_from_a_run_artifact_with_lineage(ws: Workspace, tmp_path: Path) -> None:
    import skops.io as sio

    clf, _ = _classifier()
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    with aml.start_run("iris", workspace=ws) as run:
        run.log_input("customers", uri="data/customers.csv")
        run.log_artifact(path, "model/model.skops")
        run.log_text("notes", "model/README.md")
    mv = aml.register_model("iris-clf", run=run, artifact="model", workspace=ws)
    assert sorted(f["path"] for f in mv.files) == ["README.md", "model.native.npz", "model.skops"]
    assert mv.run_id == run.id and mv.source["native"] == "model.native.npz"  # made from the run's skops file
    lineage = aml.model_lineage("iris-clf:1", workspace=ws)
    assert lineage["run"]["id"] == run.id and lineage["run"]["snapshot_id"] == run.info.snapshot_id
    assert [d["name"] for d in lineage["datasets"]] == ["customers"]
    aml.set_model_alias("iris-clf", "staging", 1, workspace=ws)
    out_of_run = versions_of_run(run.id[:8], workspace=ws)  # the run's lineage out, by a prefix too
    assert [(v["ref"], v["aliases"], v["flavor"]) for v in out_of_run] == [("iris-clf:1", ["staging"], mv.flavor)]
    with aml.start_run("iris", workspace=ws) as other:
        pass
    assert versions_of_run(other.id, workspace=ws) == []
    out = aml.download_model("iris-clf:1", tmp_path / "dl", workspace=ws)
    assert (out / "README.md").read_text() == "notes"
    with pytest.raises(InvalidPath, match="not empty"):
        aml.download_model("iris-clf:1", tmp_path / "dl", workspace=ws)
    aml.delete_runs([run.id], workspace=ws)
    collect_garbage(ws, min_age=0)  # the version's files outlive the run that made them
    assert aml.load_model("iris-clf:1", workspace=ws).predict([[1, 0, 0, 0]]).tolist() == [1]


def test_an_in_memory_model_names_its_run(ws: Workspace) -> None:
    clf, x = _classifier()
    with aml.start_run("iris", workspace=ws) as run:
        aml.log("acc", 0.9)
        mv = aml.register_model("iris-clf", run=run, model=clf, workspace=ws)  # inside the run, as a user would
    assert mv.run_id == run.id and mv.source["kind"] == "object"
    assert aml.model_lineage("iris-clf:1", workspace=ws)["run"]["id"] == run.id
    assert aml.load_model("iris-clf", workspace=ws).predict(x).tolist() == clf.predict(x).tolist()  # type: ignore[attr-defined]


def test_python_flavor_runs_score_py(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "score.py").write_text(
        "def init():\n    global k\n    k = 2\n\ndef run(data):\n    return [v * k for v in data]\n"
    )
    mv = aml.register_model("doubler", path=folder, workspace=ws)
    assert mv.flavor == "python" and mv.source["kind"] == "path"
    assert aml.load_model("doubler", workspace=ws).run([1, 2]) == [2, 4]


def test_loading_leaves_no_copy_of_the_model_behind(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import tempfile

    clf, x = _classifier()
    aml.register_model("clf", model=clf, workspace=ws)
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "score.py").write_text(
        "def init():\n    pass\n\ndef run(data):\n    with open(__file__) as f:\n        return f.read(3)\n"
    )
    aml.register_model("reader", path=folder, workspace=ws)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    for _ in range(3):
        assert aml.load_model("clf", workspace=ws).predict(x).tolist() == clf.predict(x).tolist()  # type: ignore[attr-defined]
    assert list(scratch.iterdir()) == []
    service = aml.load_model("reader", workspace=ws)
    assert service.run(None) == "def"  # its files live as long as it does
    del service
    gc.collect()
    assert list(scratch.iterdir()) == []


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch PWNED",))


def test_pickles_load_only_as_registered_and_untampered(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps(Evil()))
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(bad.read_bytes())
    with pytest.raises(UntrustedModel, match="runs code"):
        PickleFlavor().load(folder, trusted=False)  # an unknown upload: never unpickled
    assert not (tmp_path / "PWNED").exists()
    mv = aml.register_model("pickled", path=bad, workspace=ws)
    stored = ws.artifacts.path_of(mv.files[0]["digest"])
    os.chmod(stored, 0o644)
    stored.write_bytes(pickle.dumps({"swapped": True}))  # the blob changed behind the registry's back
    with pytest.raises(UntrustedModel, match="does not match its recorded hash"):
        aml.load_model("pickled", workspace=ws)
    assert not (tmp_path / "PWNED").exists()


def test_a_spoofed_logname_changes_no_identity_and_unverified_registrations_need_trust(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pwd

    from aml_jupyter.services.runs import current_user

    me = pwd.getpwuid(os.getuid()).pw_name
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "alice")
    assert current_user() == me  # the operating system says who this is, not the environment
    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps({"weights": [1, 2]}))
    mv = aml.register_model("mine", path=plain, workspace=ws)
    assert mv.user == me and "aml.seal" not in mv.tags and "seal" not in mv.to_dict()
    assert aml.load_model("mine", workspace=ws) == {"weights": [1, 2]}  # sealed by this workspace
    with pytest.raises(InvalidValue, match="aml's own"):
        aml.register_model("mine", path=plain, tags={"aml.seal": "0" * 64}, workspace=ws)
    # Another workspace on the same store (a teammate's laptop, or anyone who can write its rows)
    # registers under my name: its seal is not this workspace's.
    if ws.store_url.startswith("sqlite"):
        return  # a private SQLite file: nobody else writes its rows
    other = Workspace.init(tmp_path / "elsewhere", store=ws.store_url)
    try:
        aml.register_model("forged", path=plain, user=me, workspace=other)
    finally:
        other.close()
    with pytest.raises(UntrustedModel, match="unverified"):
        aml.load_model("forged", workspace=ws)
    assert aml.load_model("forged", trusted=True, workspace=ws) == {"weights": [1, 2]}


def test_code_running_models_of_another_user_need_trust(ws: Workspace, tmp_path: Path) -> None:
    from aml_jupyter.services import deployments

    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps({"weights": [1, 2]}))
    aml.register_model("mine", path=plain, workspace=ws)
    assert aml.load_model("mine", workspace=ws) == {"weights": [1, 2]}  # my own: the registry vouches
    aml.register_model("theirs", path=plain, workspace=ws, user="alice")
    with pytest.raises(UntrustedModel, match="registered by 'alice': loading it runs their code"):
        aml.load_model("theirs", workspace=ws)
    assert aml.load_model("theirs", trusted=True, workspace=ws) == {"weights": [1, 2]}
    with pytest.raises(UntrustedModel, match="registered by 'alice'"):
        deployments.deploy("theirs", "theirs", workspace=ws)
    assert deployments.list_deployments(ws) == []  # refused before anything was written or started
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    aml.register_model("their-service", path=folder, workspace=ws, user="alice")
    with pytest.raises(UntrustedModel, match="python model"):
        aml.load_model("their-service", workspace=ws)
    with pytest.raises(UntrustedModel):
        aml.load_model("theirs", workspace=ws, user="bob")  # a server names its caller


def test_bad_registrations_change_nothing(ws: Workspace, tmp_path: Path) -> None:
    clf, _ = _classifier()
    (tmp_path / "weights.bin").write_bytes(b"\0")
    (tmp_path / "real.skops").write_bytes(b"x")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "model.onnx").symlink_to("/etc/passwd")
    with aml.start_run("iris", workspace=ws) as run:
        pass
    before = len(ws.artifacts.digests())
    for call, error, match in [
        (lambda: aml.register_model("m", workspace=ws), InvalidValue, "exactly one of"),
        (lambda: aml.register_model("m", model=clf, path=tmp_path, workspace=ws), InvalidValue, "exactly one of"),
        (lambda: aml.register_model("m", run=run, workspace=ws), InvalidValue, "exactly one of"),
        (lambda: aml.register_model("m", artifact="model", workspace=ws), InvalidValue, "pass run= too"),
        (lambda: aml.register_model("m", run="feedbeef", model=clf, workspace=ws), RunNotFound, "feedbeef"),
        (lambda: aml.register_model("m", run=run, artifact="nope", workspace=ws), InvalidValue, "no artifact 'nope'"),
        (lambda: aml.register_model("m", path=tmp_path / "weights.bin", workspace=ws), InvalidValue, "cannot tell"),
        (lambda: aml.register_model("m", path=tmp_path / "missing", workspace=ws), InvalidPath, "no such file"),
        (lambda: aml.register_model("m", path=linked, workspace=ws), InvalidPath, "symbolic link"),
        (lambda: aml.register_model("m:1", model=clf, workspace=ws), InvalidValue, "may not hold"),
        (lambda: aml.register_model("m", model=object(), workspace=ws), InvalidValue, "no model flavor saves"),
        (lambda: aml.register_model("m", model=clf, flavor="tensorflow", workspace=ws), InvalidValue, "unknown"),
        (
            lambda: aml.register_model("m", model=clf, sample_input=[[1], [1, 2]], workspace=ws),
            InvalidValue,
            "different lengths",
        ),
    ]:
        with pytest.raises(error, match=match):
            call()
    assert aml.list_models(workspace=ws) == [] and len(ws.artifacts.digests()) == before
    for ref, match in [("nope", "no model 'nope'"), ("m:3", "no model 'm'"), ("bad ref!:x", "not a model reference")]:
        with pytest.raises((ModelNotFound, InvalidValue), match=match):
            aml.get_model_version(ref, workspace=ws)


def test_model_commands(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([AML, "-w", str(ws.root), *args], capture_output=True, text=True, timeout=60)

    registered = cli("models", "register", "echo", "--path", str(folder), "--tag", "team=a", "--json")
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout) == {"name": "echo", "version": 1, "ref": "echo:1"}
    assert cli("models", "alias", "echo", "production", "1").returncode == 0
    shown = json.loads(cli("models", "show", "echo@production", "--json").stdout)
    assert shown["flavor"] == "python" and shown["tags"] == {"team": "a"} and shown["aliases"] == ["production"]
    assert "echo" in cli("models", "list").stdout and "@production=1" in cli("models", "list").stdout
    assert json.loads(cli("models", "lineage", "echo:1", "--json").stdout)["run"] is None
    assert cli("models", "download", "echo:1", "--to", str(tmp_path / "out")).returncode == 0
    assert (tmp_path / "out" / "score.py").is_file()
    for args, message in [
        (("models", "show", "nope:3"), "no model 'nope'"),
        (("models", "show", "echo@staging"), "has no alias 'staging'"),
        (("models", "show", "echo:9"), "has no version 9"),
        (("models", "alias", "echo", "production", "7"), "has no version 7"),
    ]:
        proc = cli(*args)
        assert proc.returncode == 1 and message in proc.stderr


def test_an_owner_approves_code_bearing_versions_before_they_deploy(ws: Workspace, tmp_path: Path) -> None:
    from aml_jupyter.services.models import approve, check_approval
    from aml_jupyter.services.provenance import APPROVAL_TAG

    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps({"weights": [1]}))
    mv = aml.register_model("gated", path=plain, workspace=ws)
    check_approval(ws, mv)  # not asked for: nothing to do
    from aml_jupyter.config import DeploymentSettings, load_config

    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text().replace("# require_approval = false", "require_approval = true"))
    gated = ws
    gated.deployments = DeploymentSettings(config=load_config(toml)[0])  # as a new process reads it
    assert gated.deployments.require_approval
    try:
        with pytest.raises(UntrustedModel, match="aml models approve gated:1"):
            check_approval(gated, mv)
        # A tag written straight into the store is no approval: its seal is not this workspace's.
        gated.store.models.set_version_tag("gated", 1, APPROVAL_TAG, "olga " + "0" * 64)
        with pytest.raises(UntrustedModel):
            check_approval(gated, aml.get_model_version("gated:1", workspace=gated))
        approved = approve("gated:1", "olga", workspace=gated)
        assert approved.tags[APPROVAL_TAG].startswith("olga ")
        check_approval(gated, approved)
    finally:
        gated.deployments = DeploymentSettings()


@pytest.mark.parametrize("bad", ["../x", "..", ".hidden", "CON", "nul.txt", "x.", "x\uff0ey", 'a"b', "a\\b", "a//b"])
def test_one_name_rule_for_models_experiments_and_datasets(ws: Workspace, tmp_path: Path, bad: str) -> None:
    # Before: each was accepted as a model name, and a"b broke the scoring service's /metrics.
    from aml_jupyter.errors import InvalidName

    plain = tmp_path / "model.pkl"
    plain.write_bytes(pickle.dumps(1))
    with pytest.raises(InvalidName):
        aml.register_model(bad, path=plain, workspace=ws)
    with pytest.raises(InvalidName):
        aml.start_run(bad, workspace=ws)
    assert aml.register_model("team/iris-v2", path=plain, workspace=ws).name == "team/iris-v2"


def test_a_model_name_is_escaped_in_prometheus_labels() -> None:
    from aml_jupyter.serving.app import _label

    assert _label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
