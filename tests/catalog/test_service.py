"""The service starts for real and answers /health and /openapi.json."""

import httpx

from catalog.app import create_app
from tests.support.server import live_server


def test_health_reports_version_database_and_triple_store(settings):
    with live_server(create_app(settings)) as base:
        response = httpx.get(f"{base}/health")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"] is True and body["triple_store"] is True
        assert body["version"]
        openapi = httpx.get(f"{base}/openapi.json").json()
        assert openapi["info"]["title"] == "cardiofair"
        assert "/health" in openapi["paths"]


def test_health_on_postgresql(env, postgres_url):
    from catalog.settings import load_settings

    env["CARDIOFAIR_DATABASE_URL"] = postgres_url
    app = create_app(load_settings(env), migrate=True)
    with live_server(app) as base:
        assert httpx.get(f"{base}/health").json()["database"] is True
