import pytest

from catalog.settings import SettingsError, describe, load_settings


def test_defaults_need_no_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.home == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'cardiofair.db'}"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.sparql_query_url is None
    assert not settings.sparql_remote
    assert settings.gate.small_count_k == 11


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://x@y/z", "expected sqlite:///PATH or postgresql"),
        ("BASE_URL", "ftp://example.org", "expected an http:// or https:// URL"),
        ("SPARQL_URL", "not a url", "expected an http:// or https:// URL"),
        ("SPARQL_QUERY_URL", "host:8890/sparql", "expected an http:// or https:// URL"),
        (
            "SPARQL_UPDATE_URL",
            "ftp://host/sparql",
            "expected an http:// or https:// URL",
        ),
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


def test_a_sparql_base_url_gives_both_endpoints_and_either_can_be_set_apart():
    base = {"CARDIOFAIR_SPARQL_URL": "http://oxigraph:7878/"}
    settings = load_settings(base)
    assert settings.sparql_remote
    assert settings.sparql_query_url == "http://oxigraph:7878/query"
    assert settings.sparql_update_url == "http://oxigraph:7878/update"
    moved = load_settings(
        {**base, "CARDIOFAIR_SPARQL_UPDATE_URL": "http://writer:7878/update"}
    )
    assert moved.sparql_query_url == "http://oxigraph:7878/query"
    assert moved.sparql_update_url == "http://writer:7878/update"


def test_virtuoso_is_named_by_its_one_endpoint_for_queries_and_updates():
    endpoint = "http://virtuoso:8890/sparql"
    settings = load_settings(
        {
            "CARDIOFAIR_SPARQL_QUERY_URL": endpoint,
            "CARDIOFAIR_SPARQL_UPDATE_URL": endpoint,
        }
    )
    assert settings.sparql_remote
    assert (settings.sparql_query_url, settings.sparql_update_url) == (
        endpoint,
        endpoint,
    )


@pytest.mark.parametrize(
    ("given", "missing"), [("QUERY", "UPDATE"), ("UPDATE", "QUERY")]
)
def test_one_endpoint_without_the_other_is_refused(given, missing):
    with pytest.raises(SettingsError) as info:
        load_settings({f"CARDIOFAIR_SPARQL_{given}_URL": "http://virtuoso:8890/sparql"})
    message = str(info.value)
    assert message.startswith(f"CARDIOFAIR_SPARQL_{missing}_URL is unset")
    assert "expected both endpoints" in message


def test_passwords_in_sparql_endpoints_never_reach_messages():
    endpoint = "http://writer:s3cret@virtuoso:8890/sparql"
    settings = load_settings(
        {
            "CARDIOFAIR_SPARQL_QUERY_URL": endpoint,
            "CARDIOFAIR_SPARQL_UPDATE_URL": endpoint,
        }
    )
    described = describe(settings)
    assert "s3cret" not in described["sparql_query_url"]
    assert "s3cret" not in described["sparql_update_url"]
    with pytest.raises(SettingsError) as info:
        load_settings({"CARDIOFAIR_SPARQL_URL": "mailto://writer:s3cret@virtuoso"})
    assert "s3cret" not in str(info.value)
