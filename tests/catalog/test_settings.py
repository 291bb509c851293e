import pytest

from catalog.settings import SettingsError, describe, load_settings


def test_defaults_need_no_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.home == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'cardiofair.db'}"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.sparql_url is None
    assert settings.gate.small_count_k == 11


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x@y/z", "expected sqlite:///PATH or postgresql"),
        ("BASE_URL", "ftp://example.org", "expected an http:// or https:// URL"),
        ("SPARQL_URL", "not a url", "expected an http:// or https:// URL"),
        ("ID_PREFIX", "11.1234", "expected a DOI prefix"),
        ("DASK_SCHEDULER", "localhost:8786", "expected tcp://HOST:PORT"),
        ("GATE_LINKABILITY", "1.5", "expected a number in [0.0, 1.0]"),
        ("GATE_SINGLING_OUT", "low", "expected a number in [0.0, 1.0]"),
        ("GATE_SMALL_COUNT_K", "0", "expected an integer in [1, 1000]"),
        ("SPARQL_ROW_LIMIT", "ten", "expected an integer"),
        ("ENV", "staging", "expected 'development' or 'production'"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_was_expected(name, value, expected):
    with pytest.raises(SettingsError) as info:
        load_settings({f"CARDIOFAIR_{name}": value})
    message = str(info.value)
    assert message.startswith(f"CARDIOFAIR_{name}=")
    assert expected in message


def test_postgresql_urls_use_the_psycopg_driver():
    settings = load_settings({"CARDIOFAIR_DATABASE_URL": "postgresql://u@h:5432/d"})
    assert settings.database_url == "postgresql+psycopg://u@h:5432/d"


def test_passwords_never_reach_messages():
    with pytest.raises(SettingsError) as info:
        load_settings({"CARDIOFAIR_DATABASE_URL": "oracle://me:s3cret@db/x"})
    assert "s3cret" not in str(info.value)
    settings = load_settings({"CARDIOFAIR_DATABASE_URL": "postgresql://me:s3cret@db/x"})
    assert "s3cret" not in describe(settings)["database_url"]


def test_production_refuses_loopback_base_url_and_test_prefix():
    with pytest.raises(SettingsError, match="CARDIOFAIR_BASE_URL"):
        load_settings({"CARDIOFAIR_ENV": "production"})
    with pytest.raises(SettingsError, match="CARDIOFAIR_ID_PREFIX"):
        load_settings(
            {
                "CARDIOFAIR_ENV": "production",
                "CARDIOFAIR_BASE_URL": "https://data.example.org",
            }
        )
    settings = load_settings(
        {
            "CARDIOFAIR_ENV": "production",
            "CARDIOFAIR_BASE_URL": "https://data.example.org/",
            "CARDIOFAIR_ID_PREFIX": "10.99999/cardio",
        }
    )
    assert settings.base_url == "https://data.example.org"


def test_an_unwritable_home_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = load_settings({"CARDIOFAIR_HOME": str(blocker / "home")})
    with pytest.raises(SettingsError, match="CARDIOFAIR_HOME=.*not writable"):
        settings.ensure_home()
