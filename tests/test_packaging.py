"""The wheel installs one import package, vpc_mirror, holding every module and data file of the repository's folders."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Where each repository folder lands inside the installed vpc_mirror package.
FOLDERS = {"models": "models", "steps": "steps", "tui": "tui", "sandbox": "sandbox", "vpc_mirror": "."}
DATA_SUFFIXES = {".py", ".tcss", ".yaml", ".json"}


def _site_packages(env: Path) -> Path:
    out = subprocess.run([env / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, set[str], set[str]]:
    """A scratch venv (seeing this environment's dependencies) with the built wheel installed:
    (its site-packages, what was there before, what is there after)."""
    scratch = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", scratch / "dist", ROOT],
                   check=True, capture_output=True)
    wheel = next((scratch / "dist").glob("vpc_mirror-*.whl"))
    env = scratch / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env)
    site = _site_packages(env)
    before = {p.name for p in site.iterdir()}
    subprocess.run([sys.executable, "-m", "pip", "--python", env / "bin" / "python", "install", "-q", "--no-deps",
                    wheel], check=True, capture_output=True)
    return env, before, {p.name for p in site.iterdir()}


def test_the_wheel_adds_exactly_one_import_package(installed):
    env, before, after = installed
    added = after - before
    assert "vpc_mirror" in added
    assert added - {"vpc_mirror"} == {next(n for n in added if n.endswith(".dist-info"))}
    assert not {"models", "steps", "tui", "sandbox"} & added


def test_every_module_and_data_file_lands_in_the_package(installed):
    env, _, _ = installed
    package = _site_packages(env) / "vpc_mirror"
    missing = []
    for folder, inside in FOLDERS.items():
        source, target = ROOT / folder, package / inside
        for path in source.rglob("*"):
            if path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts:
                if not (target / path.relative_to(source)).is_file():
                    missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_the_installed_command_runs_from_the_wheel(installed):
    env, _, _ = installed
    where = subprocess.run([env / "bin" / "python", "-c", "import vpc_mirror.tui.cli as c; print(c.__file__)"],
                           capture_output=True, text=True, check=True, cwd=env).stdout
    assert where.startswith(str(env))
    out = subprocess.run([env / "bin" / "vpc-mirror", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("vpc-mirror ")
