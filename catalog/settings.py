"""Configuration from ``CARDIOFAIR_*`` environment variables.

Every setting has a default that needs no setup (an embedded SQLite database
and triple store under ``./var``). Values are validated once, at start, and a
bad value raises :class:`SettingsError` naming the variable, the value and
what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "CARDIOFAIR_"


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class GateThresholds:
    """Upper bounds on the 95% confidence interval of each privacy risk.

    The defaults are explained in ``docs/decisions/0003-gate-thresholds.md``.
    ``singling_out`` applies to the multivariate attack; the univariate one,
    which can form only a few hundred queries, has its own wider bound. The
    minimum fidelity, utility and representation ratios block only when set
    above zero.
    """

    singling_out: float = 0.09
    singling_out_univariate: float = 0.30
    linkability: float = 0.09
    inference: float = 0.15
    small_count_k: int = 11
    utility_min_ratio: float = 0.0
    fidelity_min_score: float = 0.0
    bias_min_ratio: float = 0.0


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    base_url: str
    id_prefix: str
    sparql_query_url: str | None
    sparql_update_url: str | None
    dask_scheduler: str | None
    sparql_timeout_s: float
    sparql_row_limit: int
    max_upload_bytes: int
    environment: str
    gate: GateThresholds = field(default_factory=GateThresholds)

    @property
    def sparql_remote(self) -> bool:
        """True when the triples live in a remote SPARQL 1.1 store."""
        return self.sparql_query_url is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def files_dir(self) -> Path:
        """Content-addressed folder of release files (``sha256/ab/cdef...``)."""
        return self.home / "files"

    @property
    def triples_dir(self) -> Path:
        return self.home / "triples"

    def ensure_home(self) -> None:
        """Create the home folder and check that it is writable.

        Raises
        ------
        SettingsError
            If the folder cannot be created or written.
        """
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SettingsError(
                f"{PREFIX}HOME={self.home}: the folder is not writable "
                f"({exc.strerror or exc}); expected a folder this user can write"
            ) from None


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float):
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{name}={raw!r}: expected a number in [{lo}, {hi}]"
        ) from None
    if not lo <= value <= hi:
        raise SettingsError(
            f"{PREFIX}{name}={raw!r}: expected a number in [{lo}, {hi}]"
        )
    return value


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{name}={raw!r}: expected an integer in [{lo}, {hi}]"
        ) from None
    if not lo <= value <= hi:
        raise SettingsError(
            f"{PREFIX}{name}={raw!r}: expected an integer in [{lo}, {hi}]"
        )
    return value


def _http_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(PREFIX + name) or default
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{PREFIX}{name}={_redact(raw)!r}: expected an http:// or https:// URL"
        )
    return raw.rstrip("/")


def _sparql_endpoints(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The query and update endpoints of a remote SPARQL store, or neither.

    ``SPARQL_URL`` is the base of a store laid out like the oxigraph server
    (``{url}/query`` and ``{url}/update``); ``SPARQL_QUERY_URL`` and
    ``SPARQL_UPDATE_URL`` name the endpoints themselves and take precedence.
    """
    base = _http_url(env, "SPARQL_URL", None)
    query = _http_url(env, "SPARQL_QUERY_URL", base and f"{base}/query")
    update = _http_url(env, "SPARQL_UPDATE_URL", base and f"{base}/update")
    if (query is None) != (update is None):
        given, missing = ("QUERY", "UPDATE") if update is None else ("UPDATE", "QUERY")
        raise SettingsError(
            f"{PREFIX}SPARQL_{missing}_URL is unset while {PREFIX}SPARQL_{given}_URL "
            f"is set: expected both endpoints of the store (or {PREFIX}SPARQL_URL "
            "for a store that serves {url}/query and {url}/update)"
        )
    return query, update


_DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")


def _database_url(env: Mapping[str, str], home: Path) -> str:
    raw = env.get(PREFIX + "DATABASE_URL")
    if not raw:
        return f"sqlite:///{home / 'cardiofair.db'}"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in _DB_SCHEMES:
        raise SettingsError(
            f"{PREFIX}DATABASE_URL={_redact(raw)!r}: expected sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB"
        )
    if scheme == "postgresql":
        raw = "postgresql+psycopg" + raw[len("postgresql") :]
    return raw


def _redact(url: str) -> str:
    """Hide a password in a database URL before it reaches a message."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


_PREFIX_RE = re.compile(
    r"^10\.\d{4,9}(/[A-Za-z0-9._;()\-]+)*$"  # a DOI prefix, optionally with a path
    r"|^[a-z][a-z0-9+.\-]*:\S+$"  # or any URI scheme prefix (ark:, urn:, https:)
)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings.

    Parameters
    ----------
    env : mapping, optional
        The environment to read; ``os.environ`` by default.

    Raises
    ------
    SettingsError
        Naming the first variable whose value is not acceptable.
    """
    env = os.environ if env is None else env
    home = Path(env.get(PREFIX + "HOME") or "var").expanduser().resolve()
    environment = env.get(PREFIX + "ENV", "development")
    if environment not in ("development", "production"):
        raise SettingsError(
            f"{PREFIX}ENV={environment!r}: expected 'development' or 'production'"
        )
    base_url = _http_url(env, "BASE_URL", "http://127.0.0.1:8000")
    id_prefix = env.get(PREFIX + "ID_PREFIX", "10.5072/cardiofair")
    if not _PREFIX_RE.match(id_prefix):
        raise SettingsError(
            f"{PREFIX}ID_PREFIX={id_prefix!r}: expected a DOI prefix such as "
            "'10.5072/cardiofair' or a URI scheme prefix such as 'ark:/12345'"
        )
    scheduler = env.get(PREFIX + "DASK_SCHEDULER") or None
    if scheduler is not None and not re.match(r"^(tcp|tls|inproc)://\S+$", scheduler):
        raise SettingsError(
            f"{PREFIX}DASK_SCHEDULER={scheduler!r}: expected tcp://HOST:PORT"
        )
    gate = GateThresholds(
        singling_out=_float(env, "GATE_SINGLING_OUT", 0.09, 0.0, 1.0),
        singling_out_univariate=_float(
            env, "GATE_SINGLING_OUT_UNIVARIATE", 0.30, 0.0, 1.0
        ),
        linkability=_float(env, "GATE_LINKABILITY", 0.09, 0.0, 1.0),
        inference=_float(env, "GATE_INFERENCE", 0.15, 0.0, 1.0),
        small_count_k=_int(env, "GATE_SMALL_COUNT_K", 11, 1, 1000),
        utility_min_ratio=_float(env, "GATE_UTILITY_MIN_RATIO", 0.0, 0.0, 10.0),
        fidelity_min_score=_float(env, "GATE_FIDELITY_MIN_SCORE", 0.0, 0.0, 1.0),
        bias_min_ratio=_float(env, "GATE_BIAS_MIN_RATIO", 0.0, 0.0, 1.0),
    )
    sparql_query_url, sparql_update_url = _sparql_endpoints(env)
    settings = Settings(
        home=home,
        database_url=_database_url(env, home),
        base_url=base_url,
        id_prefix=id_prefix,
        sparql_query_url=sparql_query_url,
        sparql_update_url=sparql_update_url,
        dask_scheduler=scheduler,
        sparql_timeout_s=_float(env, "SPARQL_TIMEOUT_S", 10.0, 0.1, 600.0),
        sparql_row_limit=_int(env, "SPARQL_ROW_LIMIT", 10_000, 1, 10_000_000),
        max_upload_bytes=_int(env, "MAX_UPLOAD_MB", 512, 1, 100_000) * 1024 * 1024,
        environment=environment,
        gate=gate,
    )
    if environment == "production":
        _refuse_unsafe_defaults(settings, env)
    return settings


def _refuse_unsafe_defaults(settings: Settings, env: Mapping[str, str]) -> None:
    if "127.0.0.1" in settings.base_url or "localhost" in settings.base_url:
        raise SettingsError(
            f"{PREFIX}BASE_URL={settings.base_url!r}: in production the base URL "
            "must be the public address, not loopback"
        )
    if settings.id_prefix.startswith("10.5072"):
        raise SettingsError(
            f"{PREFIX}ID_PREFIX={settings.id_prefix!r}: 10.5072 is the test "
            "prefix; in production set the prefix your identifiers are minted under"
        )


_SECRET_URLS = ("database_url", "sparql_query_url", "sparql_update_url")


def describe(settings: Settings) -> dict[str, str]:
    """The settings as strings, with secrets redacted (for ``--help`` and logs)."""
    out = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        out[f.name] = _redact(str(value)) if f.name in _SECRET_URLS else str(value)
    return out
