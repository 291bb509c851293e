"""The command line, run as a user runs it: a separate process."""

import os
import subprocess
import sys

import pytest


def cardiofair(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CARDIOFAIR_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "catalog", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_help_lists_the_commands():
    result = cardiofair("--help")
    assert result.returncode == 0
    for command in ("serve", "db", "org", "user", "token"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"CARDIOFAIR_DATABASE_URL": "mysql://u@h/d"}, "CARDIOFAIR_DATABASE_URL"),
        (
            {"CARDIOFAIR_DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/d"},
            "CARDIOFAIR_DATABASE_URL",
        ),
        ({"CARDIOFAIR_HOME": "/proc/cardiofair"}, "CARDIOFAIR_HOME"),
    ],
    ids=["unsupported scheme", "unreachable server", "unwritable home"],
)
def test_serve_refuses_bad_configuration_with_one_line_and_status_2(env, setting):
    result = cardiofair("serve", "--port", "1", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr


def test_maintainers_and_tokens_from_the_command_line(tmp_path):
    env = {"CARDIOFAIR_HOME": str(tmp_path / "home")}
    assert cardiofair("db", "upgrade", env=env).returncode == 0
    assert "up to date" in cardiofair("db", "current", env=env).stdout
    result = cardiofair("org", "add", "lab", "--name", "Lab", env=env)
    assert result.returncode == 0, result.stderr
    result = cardiofair("org", "add", "lab", env=env)
    assert result.returncode == 2 and "already exists" in result.stderr
    result = cardiofair(
        "user",
        "add",
        "ana@lab.example",
        "--org",
        "lab",
        "--orcid",
        "0000-0002-1825-0098",
        env=env,
    )
    assert result.returncode == 2 and "check digit should be 7" in result.stderr
    result = cardiofair(
        "user",
        "add",
        "ana@lab.example",
        "--org",
        "lab",
        "--role",
        "admin",
        "--orcid",
        "0000-0002-1825-0097",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    token = cardiofair("token", "create", "ana@lab.example", env=env).stdout.strip()
    assert token.startswith("cf_")
    lookup = token.split("_")[1]
    listing = cardiofair("token", "list", env=env).stdout
    assert lookup in listing and token not in listing
    assert cardiofair("token", "revoke", lookup, env=env).returncode == 0
    assert "revoked" in cardiofair("token", "list", env=env).stdout
    result = cardiofair("token", "revoke", "nosuchtoken0", env=env)
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_an_organisation_can_set_its_own_gate_thresholds(tmp_path):
    env = {"CARDIOFAIR_HOME": str(tmp_path / "home")}
    result = cardiofair(
        "org", "add", "lab", "--gate-threshold", "inference=0.2", env=env
    )
    assert result.returncode == 0, result.stderr
    result = cardiofair("org", "add", "lab2", "--gate-threshold", "risk=0.2", env=env)
    assert result.returncode == 2 and "expected NAME=VALUE" in result.stderr
    result = cardiofair(
        "org", "add", "lab3", "--gate-threshold", "inference=2", env=env
    )
    assert result.returncode == 2 and "out of range" in result.stderr
