"""Records shared by the metadata tests (built once per session)."""

from __future__ import annotations

import pytest

from metadata.examples import (
    EXAMPLE_BASE,
    example_catalog,
    example_dataset,
    example_release,
)


@pytest.fixture(scope="session")
def base_url() -> str:
    return EXAMPLE_BASE


@pytest.fixture(scope="session")
def dataset():
    return example_dataset(0)


@pytest.fixture(scope="session")
def releases(dataset):
    """Version 1 withdrawn, version 2 current."""
    return [example_release(dataset, 1, withdrawn=True), example_release(dataset, 2)]


@pytest.fixture(scope="session")
def restricted_source():
    """A NON_PUBLIC dataset, as a real source is described."""
    source = example_dataset(1, access_rights="NON_PUBLIC")
    return source, [example_release(source, 1)]


@pytest.fixture(scope="session")
def catalog():
    return example_catalog()
