"""A catalog of a few hundred synthetic datasets, served once per module."""

import pytest

from tests.web.site import serve_catalog


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    made, server = serve_catalog(tmp_path_factory.mktemp("site") / "home", 230)
    with server:
        yield made
