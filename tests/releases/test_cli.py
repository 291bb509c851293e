"""The release commands, run as a maintainer runs them: separate processes."""

from __future__ import annotations

from tests.catalog.test_cli import cardiofair
from tests.releases.support import write_release_folder, write_splits


def test_release_commands_refuse_with_status_1_and_bad_input_with_2(tmp_path):
    env = {"CARDIOFAIR_HOME": str(tmp_path / "home")}
    assert cardiofair("org", "add", "lab", env=env).returncode == 0
    user = cardiofair(
        "user", "add", "ana@lab.example", "--org", "lab", "--role", "admin", env=env
    )
    assert user.returncode == 0, user.stderr
    made = cardiofair(
        "dataset", "create", "ecg-adults", "--title", "Synthetic ECGs", env=env
    )
    assert made.returncode == 0, made.stderr
    folder = write_release_folder(tmp_path / "out", 7, write_splits(tmp_path / "s"))

    created = cardiofair(
        "release", "create", str(folder), "--dataset", "ecg-adults", env=env
    )
    assert created.returncode == 0, created.stderr
    assert "ecg-adults/v1" in created.stdout
    refused = cardiofair("release", "publish", "ecg-adults/v1", env=env)
    assert refused.returncode == 1
    assert "has not been through the gate" in refused.stderr
    assert "Traceback" not in refused.stderr
    missing = cardiofair(
        "release",
        "create",
        str(tmp_path / "nowhere"),
        "--dataset",
        "ecg-adults",
        env=env,
    )
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    listed = cardiofair("release", "list", env=env)
    assert "ecg-adults/v1\tdraft" in listed.stdout
