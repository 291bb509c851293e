"""The typed metadata model: catalog, dataset (the concept), release (a version).

Every model is frozen and refuses unknown fields. Validation errors are
pydantic ``ValidationError`` (a ``ValueError``) whose text names the field, the
value given and what was expected, e.g. ``creators.0.orcid: ORCID
'0000-0002-1825-0096' fails its check digit``.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    model_validator,
)

from metadata import vocab
from metadata.licences import duo_term, spdx_licence

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Checked string types


def _http_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _iri(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+", value):
        raise ValueError(f"{value!r} is not an absolute IRI")
    return value


def orcid_check_digit(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 15 ORCID digits."""
    total = 0
    for char in digits:
        total = (total + int(char)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def _orcid(value: str) -> str:
    match = re.fullmatch(
        r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", value
    )
    if not match:
        raise ValueError(
            f"ORCID {value!r} is malformed; expected "
            "https://orcid.org/NNNN-NNNN-NNNN-NNNC"
        )
    bare = match.group(1)
    if orcid_check_digit(bare.replace("-", "")[:15]) != bare[-1]:
        raise ValueError(f"ORCID {value!r} fails its check digit")
    return "https://orcid.org/" + bare


def _ror(value: str) -> str:
    ror_id = r"0[a-hj-km-np-tv-z0-9]{6}\d{2}"
    match = re.fullmatch(rf"(?:https://ror\.org/)?({ror_id})", value)
    if not match:
        raise ValueError(
            f"ROR id {value!r} is malformed; expected https://ror.org/0XXXXXXNN"
        )
    return "https://ror.org/" + match.group(1)


def _media_type(value: str) -> str:
    token = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
    top = "application|audio|font|image|message|model|multipart|text|video"
    if not re.fullmatch(rf"(?:{top})/{token}", value):
        raise ValueError(f"{value!r} is not an IANA media type (type/subtype)")
    return value


def _sha256(value: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{value!r} is not a sha256 digest (64 lowercase hex)")
    return value


def _code_of(table: dict[str, vocab.Term], what: str):
    def check(value: str) -> str:
        vocab.lookup(table, what, value)
        return value

    return check


def _duo(value: str) -> str:
    return duo_term(value).code


def _spdx(value: str) -> str:
    return spdx_licence(value).id


def _sorted_unique(values: list[str]) -> list[str]:
    return sorted(set(values))


NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Email = Annotated[str, AfterValidator(_email)]
Iri = Annotated[str, AfterValidator(_iri)]
Orcid = Annotated[str, AfterValidator(_orcid)]
RorId = Annotated[str, AfterValidator(_ror)]
MediaType = Annotated[str, AfterValidator(_media_type)]
Sha256 = Annotated[str, AfterValidator(_sha256)]
DuoCode = Annotated[str, AfterValidator(_duo)]
SpdxId = Annotated[str, AfterValidator(_spdx)]
ThemeCode = Annotated[str, AfterValidator(_code_of(vocab.DATA_THEMES, "theme"))]
HealthCategoryCode = Annotated[
    str, AfterValidator(_code_of(vocab.HEALTH_CATEGORIES, "health category"))
]
LegalBasisCode = Annotated[
    str, AfterValidator(_code_of(vocab.LEGAL_BASES, "legal basis"))
]
PurposeCode = Annotated[str, AfterValidator(_code_of(vocab.PURPOSES, "purpose"))]
PersonalDataCode = Annotated[
    str, AfterValidator(_code_of(vocab.PERSONAL_DATA, "personal data"))
]


# Lists that RDF holds as sets are kept sorted and without duplicates, so that
# a record read back from RDF equals the one written.
def SetOf(item):  # noqa: N802 - reads as a type
    return Annotated[list[item], AfterValidator(_sorted_unique)]


AccessRights = Literal["PUBLIC", "RESTRICTED", "NON_PUBLIC"]
Standard = Literal["WFDB", "DICOM", "CSV", "Parquet"]
Dimension = Literal["privacy", "leakage", "fidelity", "utility", "bias"]
ParameterValue = bool | int | float | str

# EU Regulation 2025/327 on the European Health Data Space, by its ELI.
EHDS_REGULATION = "http://data.europa.eu/eli/reg/2025/327/oj"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------
# Agents


class ContactPoint(_Model):
    """How to reach a person or a desk: an e-mail address, a page, or both."""

    name: NonEmpty | None = None
    email: Email | None = None
    url: HttpUrl | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactPoint:
        if self.email is None and self.url is None:
            raise ValueError("contact point: give an email or a url (both are None)")
        return self


class Organization(_Model):
    """An organisation, identified by its ROR id when it has one."""

    kind: Literal["organization"] = "organization"
    name: NonEmpty
    slug: str | None = Field(default=None, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
    ror: RorId | None = None
    homepage: HttpUrl | None = None
    contact: ContactPoint | None = None


class Person(_Model):
    """A person, identified by an ORCID iD when they have one."""

    kind: Literal["person"] = "person"
    given_name: NonEmpty
    family_name: NonEmpty
    orcid: Orcid | None = None
    affiliation: Organization | None = None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


Agent = Annotated[Person | Organization, Field(discriminator="kind")]


class SoftwareAgent(_Model):
    """A program that acted, such as the simulation engine, with its version."""

    name: NonEmpty
    version: NonEmpty
    url: HttpUrl | None = None


# --------------------------------------------------------------------------
# Licence and policy


class Licence(_Model):
    """A licence from the SPDX list, given by its id (``CC-BY-4.0``)."""

    spdx_id: SpdxId

    @property
    def name(self) -> str:
        return spdx_licence(self.spdx_id).name

    @property
    def uri(self) -> str:
        return str(spdx_licence(self.spdx_id).uri)


OdrlAction = Literal[
    "use",
    "reproduce",
    "distribute",
    "derive",
    "commercialize",
    "modify",
    "reidentify",
    "link",
    "attribute",
    "inform",
    "shareAlike",
]


class Rule(_Model):
    """One ODRL rule: an action, optionally limited to DUO purposes."""

    action: OdrlAction
    purposes: SetOf(DuoCode) = Field(default_factory=list)


def _sorted_rules(rules: list[Rule]) -> list[Rule]:
    order = {action: i for i, action in enumerate(OdrlAction.__args__)}
    return sorted(rules, key=lambda rule: (order[rule.action], rule.purposes))


Rules = Annotated[list[Rule], AfterValidator(_sorted_rules)]


class Policy(_Model):
    """An ODRL offer: permissions, prohibitions and duties (obligations).

    RDF holds rules as sets; they are kept in the order of :data:`OdrlAction`.
    """

    permissions: Rules = Field(default_factory=list)
    prohibitions: Rules = Field(default_factory=list)
    duties: Rules = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Policy:
        if not (self.permissions or self.prohibitions or self.duties):
            raise ValueError("policy: a policy needs at least one rule; got none")
        return self

    @classmethod
    def for_research(cls, duo_codes: list[str], commercial: bool = False) -> Policy:
        """The usual policy of a synthetic release.

        Use, copy, share and derive for the purposes the DUO codes allow;
        never re-identify or link to people; cite; inform the publisher when
        ``PUB`` (publication required) is among the codes.
        """
        purposes = [c for c in (duo_term(c).code for c in duo_codes) if c != "PUB"]
        actions = ["use", "reproduce", "distribute", "derive"]
        if commercial:
            actions.append("commercialize")
        duties = [Rule(action="attribute")]
        if "PUB" in {duo_term(c).code for c in duo_codes}:
            duties.append(Rule(action="inform"))
        return cls(
            permissions=[Rule(action=a, purposes=purposes) for a in actions],
            prohibitions=[Rule(action="reidentify"), Rule(action="link")],
            duties=duties,
        )


# --------------------------------------------------------------------------
# Release contents


class Distribution(_Model):
    """One downloadable form of a release: a file or an archive of files."""

    title: NonEmpty
    description: NonEmpty | None = None
    access_url: HttpUrl
    download_url: HttpUrl | None = None
    media_type: MediaType
    byte_size: NonNegativeInt
    sha256: Sha256
    conforms_to: Standard | None = None


class Column(_Model):
    """A variable of a table (CSVW column)."""

    name: NonEmpty
    title: NonEmpty
    description: NonEmpty
    datatype: Literal[
        "string", "integer", "decimal", "double", "boolean", "date", "dateTime"
    ]
    property_url: Iri | None = None


class Table(_Model):
    """A table of variables (CSVW table) such as the feature table."""

    title: NonEmpty
    url: HttpUrl | None = None
    columns: list[Column] = Field(min_length=1)


class CohortSpec(_Model):
    """The cohort specification a simulation drew its patients from."""

    title: NonEmpty
    sha256: Sha256
    url: HttpUrl | None = None


class Activity(_Model):
    """The simulation run that generated a release (PROV-O activity)."""

    label: NonEmpty = "simulation run"
    started: AwareDatetime
    ended: AwareDatetime
    cohort_spec: CohortSpec
    source_dataset: Iri
    engine: SoftwareAgent
    parameters: dict[str, ParameterValue] = Field(default_factory=dict)
    seed: NonNegativeInt

    @model_validator(mode="after")
    def _ordered(self) -> Activity:
        if self.ended < self.started:
            raise ValueError(
                f"activity.ended {self.ended.isoformat()} is before "
                f"activity.started {self.started.isoformat()}"
            )
        for name in self.parameters:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"activity.parameters: bad parameter name {name!r}")
        return self


class QualityMeasurement(_Model):
    """A gate score as a DQV quality measurement."""

    metric: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    dimension: Dimension
    value: float
    definition: NonEmpty


class Withdrawal(_Model):
    """Why and when a release was withdrawn; its record stays as a tombstone."""

    reason: NonEmpty
    at: AwareDatetime


# --------------------------------------------------------------------------
# Dataset, release, catalog


def concept_identifier(prefix: str, slug: str) -> str:
    """Persistent identifier of a dataset concept: ``{prefix}/{slug}``."""
    return f"{prefix}/{slug}"


def release_identifier(prefix: str, slug: str, version: int) -> str:
    """Persistent identifier of a release: ``{prefix}/{slug}.v{N}``."""
    return f"{prefix}/{slug}.v{version}"


class Dataset(_Model):
    """A dataset as a concept: what stays the same across its releases."""

    slug: Slug
    identifier: NonEmpty
    title: NonEmpty
    description: NonEmpty
    keywords: SetOf(NonEmpty) = Field(min_length=1)
    themes: SetOf(ThemeCode) = Field(default_factory=lambda: ["HEAL"], min_length=1)
    publisher: Organization
    creators: list[Agent] = Field(min_length=1)
    contact_point: ContactPoint
    licence: Licence
    access_rights: AccessRights = "PUBLIC"
    policy: Policy | None = None
    health_categories: SetOf(HealthCategoryCode) = Field(min_length=1)
    health_themes: SetOf(Iri) = Field(default_factory=list)
    hdab: Organization | None = None
    min_typical_age: NonNegativeInt | None = None
    max_typical_age: NonNegativeInt | None = None
    population_coverage: NonEmpty | None = None
    personal_data: SetOf(PersonalDataCode) = Field(default_factory=list)
    legal_basis: SetOf(LegalBasisCode) = Field(default_factory=list)
    purposes: SetOf(PurposeCode) = Field(default_factory=list)
    duo_codes: SetOf(DuoCode) = Field(default_factory=list)
    coding_systems: SetOf(Iri) = Field(default_factory=list)
    provenance: NonEmpty = "Synthetic data generated by simulation; see each release."
    applicable_legislation: SetOf(Iri) = Field(
        default_factory=lambda: [EHDS_REGULATION], min_length=1
    )
    issued: AwareDatetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _hdab_defaults_to_publisher(cls, data):
        if isinstance(data, dict) and data.get("hdab") is None:
            data = {**data, "hdab": data.get("publisher")}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        lo, hi = self.min_typical_age, self.max_typical_age
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_typical_age {lo} is above max_typical_age {hi}")
        for role, org in (("publisher", self.publisher), ("hdab", self.hdab)):
            if org is not None and org.contact is None:
                raise ValueError(
                    f"{role}.contact: {org.name!r} needs a contact point "
                    "(HealthDCAT-AP asks for one); got None"
                )
        return self


class Release(_Model):
    """One version of a dataset, immutable once published."""

    version: PositiveInt
    identifier: NonEmpty
    issued: AwareDatetime
    modified: AwareDatetime
    version_notes: NonEmpty
    distributions: list[Distribution] = Field(min_length=1)
    activity: Activity | None = None
    quality: Annotated[
        list[QualityMeasurement],
        AfterValidator(lambda items: sorted(items, key=lambda q: q.metric)),
    ] = Field(default_factory=list)
    variables: list[Table] = Field(default_factory=list)
    number_of_records: NonNegativeInt | None = None
    number_of_unique_individuals: NonNegativeInt | None = None
    withdrawn: Withdrawal | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Release:
        if not self.identifier.endswith(f".v{self.version}"):
            raise ValueError(
                f"identifier {self.identifier!r} does not end in "
                f"'.v{self.version}' (version {self.version})"
            )
        if self.modified < self.issued:
            raise ValueError(
                f"modified {self.modified.isoformat()} is before "
                f"issued {self.issued.isoformat()}"
            )
        if self.withdrawn is not None:
            for i, dist in enumerate(self.distributions):
                if dist.download_url is not None:
                    raise ValueError(
                        f"distributions.{i}.download_url: a withdrawn release "
                        f"offers no download; got {dist.download_url!r}"
                    )
        return self

    @property
    def year(self) -> int:
        return self.issued.year


class DataService(_Model):
    """An endpoint that serves the catalog's datasets (SPARQL, OAI-PMH, ...)."""

    slug: Slug
    title: NonEmpty
    description: NonEmpty | None = None
    endpoint_url: HttpUrl
    endpoint_description: HttpUrl | None = None
    conforms_to: SetOf(Iri) = Field(default_factory=list)


class Catalog(_Model):
    """The catalog itself."""

    title: NonEmpty
    description: NonEmpty
    publisher: Organization
    homepage: HttpUrl | None = None
    licence: Licence | None = None
    services: list[DataService] = Field(default_factory=list)
    applicable_legislation: SetOf(Iri) = Field(
        default_factory=lambda: [EHDS_REGULATION], min_length=1
    )


def latest_release(releases: list[Release]) -> Release | None:
    """The highest version that is not withdrawn, if any."""
    live = [r for r in releases if r.withdrawn is None]
    return max(live, key=lambda r: r.version) if live else None


def check_versions(releases: list[Release]) -> list[Release]:
    """Sort releases by version and refuse duplicates.

    Gaps are allowed: a version that was gated, blocked and never published
    leaves a hole in the public numbering, and the next published version
    keeps its own number.

    Raises
    ------
    ValueError
        Naming the versions found if one is repeated.
    """
    ordered = sorted(releases, key=lambda r: r.version)
    numbers = [r.version for r in ordered]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"releases: each version must appear once, got {numbers}")
    return ordered


__all__ = [
    "Activity",
    "Agent",
    "Catalog",
    "CohortSpec",
    "Column",
    "ContactPoint",
    "DataService",
    "Dataset",
    "Distribution",
    "Licence",
    "Organization",
    "Person",
    "Policy",
    "QualityMeasurement",
    "Release",
    "Rule",
    "SoftwareAgent",
    "Table",
    "Withdrawal",
    "check_versions",
    "concept_identifier",
    "latest_release",
    "release_identifier",
]
