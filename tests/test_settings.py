"""The settings table: every setting is read in one place and reaches every worker, local or on a cluster."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.settings import VARIABLES, Settings, load_settings, worker_environment
from tests.conftest import REPO

EVERY_FIELD_CHANGED = {  # a value for every setting, none of them its default
    "max_running": "3", "demo": "1", "executor": "ray", "ray_address": "127.0.0.1:6379", "ray_cpus": "1.5",
    "not_responding_seconds": "42", "sample_url": "http://mirror.school.example/cats.zip",
    "mlflow_uri": "sqlite:///tmp/mlflow.db", "mlflow_experiment": "class 3b", "mlflow_ui": "http://127.0.0.1:5000",
}
READ_BACK = "import dataclasses, json, lab.settings as s; print(json.dumps(dataclasses.asdict(s.load_settings()), default=str))"


def test_every_setting_has_its_variable() -> None:
    assert set(VARIABLES) == {field.name for field in dataclasses.fields(Settings)}
    assert all(name.startswith("TRANSFER_LAB_") for name in VARIABLES.values())


def test_a_worker_loads_exactly_the_settings_its_launcher_had(workspace: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's environment is only what `worker_environment` writes (as for a Ray actor on another machine),
    and it reads back every field, each changed from its default."""
    for field, value in EVERY_FIELD_CHANGED.items():
        monkeypatch.setenv(VARIABLES[field], value)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret")  # a library's own variable travels too
    settings = load_settings()
    defaults = Settings(workspace=settings.workspace, data_dirs=(), weights_dirs=())
    assert all(getattr(settings, field) != getattr(defaults, field) for field in EVERY_FIELD_CHANGED)
    environment = worker_environment(settings)
    assert environment["MLFLOW_TRACKING_TOKEN"] == "secret"
    assert environment["PYTHONPATH"].split(os.pathsep)[0] == str(REPO)  # where `python -m lab` imports from
    done = subprocess.run([sys.executable, "-c", READ_BACK], capture_output=True, text=True, check=True,
                          cwd=tmp_path, env={"PATH": os.environ["PATH"], **environment})
    assert json.loads(done.stdout) == json.loads(json.dumps(dataclasses.asdict(settings), default=str))


def test_unset_optional_settings_stay_unset_for_the_worker(workspace: Path) -> None:
    environment = worker_environment(load_settings())
    assert VARIABLES["mlflow_uri"] not in environment and VARIABLES["sample_url"] not in environment


@pytest.mark.parametrize(("field", "value", "says"), [
    ("max_running", "0", "a whole number >= 1"), ("executor", "kubernetes", "local or ray"),
    ("ray_cpus", "-1", "a number of CPUs above 0"), ("not_responding_seconds", "soon", "a number of seconds above 0"),
    ("ray_address", "10.0.0.5", "auto, host:port"), ("ray_address", "ray://head:port", "auto, host:port"),
    ("ray_address", "head:99999", "auto, host:port"),
])
def test_a_bad_value_names_its_variable(workspace: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str,
                                        says: str) -> None:
    monkeypatch.setenv(VARIABLES[field], value)
    with pytest.raises(LabError, match=f"{VARIABLES[field]}='{value}' is not allowed: it must be .*{says}"):
        load_settings()


def environment_reads(path: Path) -> list[str]:
    """The lines of `path` that read a TRANSFER_LAB_ variable from the environment directly."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("TRANSFER_LAB_"):
            line = path.read_text().splitlines()[node.lineno - 1]
            if re.search(r"environ|getenv", line):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_only_the_settings_module_reads_the_labs_variables() -> None:
    modules = [*REPO.glob("lab/**/*.py"), *REPO.glob("app_pages/*.py"), REPO / "streamlit_app.py"]
    assert [line for path in modules if path.name != "settings.py" for line in environment_reads(path)] == []


def test_the_readme_lists_every_variable() -> None:
    rows = re.findall(r"^\| `(TRANSFER_LAB_\w+)` \|", (REPO / "README.md").read_text(), re.MULTILINE)
    assert sorted(rows) == sorted(VARIABLES.values())
