"""The cardiofair catalog service: storage, web pages, harvesting endpoints,
releases and the release gate."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cardiofair")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
