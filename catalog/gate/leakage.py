"""Metadata-leakage scan of everything a release publishes besides its rows.

Synthetic rows can be safe while the metadata beside them identifies people:
an exact admission date in a description, a count of three patients, a WFDB
header copied from a hospital record. The scanner reads the metadata record
(JSON-LD or JSON, any nesting: every string and number is checked with its
path), WFDB headers (comments and the record line's base date and time),
DICOM attributes (by the PS3.15 Annex E basic profile) and the columns and
values of CSV and Parquet tables. Rules follow HIPAA Safe Harbor
(45 CFR 164.514(b)(2)) and small-cell suppression (counts below ``k``).

Each :class:`Finding` says where, which rule, how severe and how to fix it;
a ``high`` finding blocks the release.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

HIGH, MEDIUM, LOW = "high", "medium", "low"


class LeakageInputError(ValueError):
    """A metadata record or release file cannot be read."""


@dataclass(frozen=True)
class Finding:
    """One piece of published content that may identify a person.

    Attributes
    ----------
    where : str
        The field path (``metadata $.description``), or the file with its
        line, column or attribute.
    rule : str
        The rule that fired, such as ``quasi.exact-date``.
    severity : str
        ``high`` (blocks the release), ``medium`` or ``low`` (review).
    evidence : str
        The offending text, masked so the report does not repeat it.
    fix : str
        What to change.
    """

    where: str
    rule: str
    severity: str
    evidence: str
    fix: str

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ text rules

_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ][0-9:.]+Z?)?\b"
    r"|(?<![\d.])\d{1,2}[/.]\d{1,2}[/.]\d{2,4}(?![.\d])"
    rf"|\b\d{{1,2}}[- ]{_MONTHS}[- ,]*\d{{2,4}}\b"
    rf"|\b{_MONTHS} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(
    r"(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}"
    r"(?:[ .-]\d{2,5}){1,3}(?![\w.])"
)
_HONORIFIC_NAME = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.? [A-Z][a-z]+(?: [A-Z][a-z]+)?"
)
_CALLED_NAME = re.compile(
    r"\b(?:patient|subject|named|name[d:]?|proband)\s*:?\s+"
    r"([A-Z][a-z]+ [A-Z][a-z]+)\b"
)
_RECORD_NUMBER = re.compile(
    r"\b(?:MRN|medical record (?:number|no\.?)|patient (?:id|number|no\.?)"
    r"|record (?:number|no\.?)|case (?:number|no\.?)|accession(?: number)?)"
    r"\s*[:#]?\s*[A-Z0-9-]{3,}"
    r"|\b\d{3}-\d{2}-\d{4}\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"\b\d{1,5},? [A-Z][\w.]+(?: [A-Z][\w.]+)* (?:Street|St\.|Road|Rd\.|Avenue"
    r"|Ave\.|Lane|Boulevard|Blvd|Drive|Way|Place|Strasse|Straße|Weg|Platz)\b"
    r"|\b(?:Street|Strasse|Straße|Rue|Via|Calle) [A-Z][\w]+ \d{1,5}\b"
)
_SMALL_AREA = re.compile(
    r"\b(?:zip|zip code|postcode|postal code|plz)\s*:?\s*[A-Z0-9]{3,}(?:[ -]\d+)?"
    r"|\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b"
    r"|\b(?:lat(?:itude)?|lon(?:gitude)?|coordinates?|geo)\W{0,3}-?\d{1,3}\.\d{3,}",
    re.IGNORECASE,
)
_OLD_AGE = re.compile(
    r"\b(?:9\d|1[0-2]\d)[- ](?:year|yr)s?[- ]old\b"
    r"|\bage[ds]?\s*(?:of|:|=)?\s*(?:9\d|1[0-2]\d)\b",
    re.IGNORECASE,
)
_COUNTED = re.compile(
    r"\b(?:n\s*=\s*(\d+)|(?<![\d,.])(\d+)\s+"
    r"(?:patients|subjects|cases|records|individuals"
    r"|people|persons|women|men|participants|deaths|volunteers))\b",
    re.IGNORECASE,
)

_TEXT_RULES = (
    (
        _EMAIL,
        "identifier.email",
        "remove the e-mail address; give a contact point for the dataset only",
    ),
    (
        _HONORIFIC_NAME,
        "identifier.person-name",
        "remove the person's name; describe the cohort, not a patient",
    ),
    (
        _CALLED_NAME,
        "identifier.person-name",
        "remove the person's name; describe the cohort, not a patient",
    ),
    (
        _RECORD_NUMBER,
        "identifier.record-number",
        "remove record, patient and accession numbers",
    ),
    (
        _ADDRESS,
        "identifier.address",
        "remove the street address; name a country or region at most",
    ),
    (
        _SMALL_AREA,
        "quasi.small-area",
        "give areas of at least 20,000 people (first three ZIP digits, a "
        "region), and round coordinates",
    ),
    (
        _OLD_AGE,
        "quasi.age-over-89",
        "report ages over 89 as '90 or older'",
    ),
    (
        _DATE,
        "quasi.exact-date",
        "give the year only (HIPAA Safe Harbor allows no finer date element)",
    ),
    (
        _PHONE,
        "identifier.phone",
        "remove the telephone number",
    ),
)

# Keys (last segment, lower case) whose subtree names the dataset's own people
# and dates: authors, publishers, contact points, and the record's timestamps.
_AGENT_KEYS = {
    "creator",
    "author",
    "contributor",
    "publisher",
    "contactpoint",
    "maintainer",
    "funder",
    "rightsholder",
    "editor",
    "hdab",
    "qualifiedattribution",
}
# Lists of agents ("creators": [...]) and an agent's public identifier.
_AGENT_KEYS |= {key + "s" for key in _AGENT_KEYS} | {"orcid"}
_ADMIN_DATE_KEYS = {
    "issued",
    "modified",
    "created",
    "datecreated",
    "datepublished",
    "datemodified",
    "dateissued",
    "generatedattime",
    "startedattime",
    "endedattime",
}
_SKIP_KEYS = {"@context", "@type", "conformsto", "license", "licence", "rights"}
_PROVENANCE_KEYS = {
    "provenance",
    "wasderivedfrom",
    "hadprimarysource",
    "derivedfrom",
    "source",
    "wasquotedfrom",
    "wasrevisionof",
    "used",
}
_COUNT_KEY = re.compile(
    r"(count|^n$|^n_|numberof|frequency|^freq$|^size$|records|patients|subjects"
    r"|participants|cases|individuals)",
    re.IGNORECASE,
)
_AGE_KEY = re.compile(r"age", re.IGNORECASE)
_SOURCE_RECORD = re.compile(
    r"\bpatient[_-]?\d+\b|\bsubject[_-]?\d+\b|\b[sS]\d{4}_[a-z]{2,}\b"
    r"|\brecords?\s*[:#]?\s*\d{2,}\b|\b\d+(?:\.\d+){6,}\b",
    re.IGNORECASE,
)


def scan_text(
    text: str, where: str, k: int, context: frozenset[str] = frozenset()
) -> Iterator[Finding]:
    """Findings in one string.

    Parameters
    ----------
    text : str
        A field value, a header comment, a table cell.
    where : str
        Its location, copied into each finding.
    k : int
        Smallest count of people that may be published.
    context : frozenset of str
        ``agent`` inside an author or contact point (names and e-mail are
        expected), ``admin-date`` for the record's own timestamps, ``url``
        for an address.
    """
    taken: list[tuple[int, int]] = []
    exempt = _context_exempt(context)
    for pattern, rule, fix in _TEXT_RULES:
        if rule in exempt:
            continue
        for match in pattern.finditer(text):
            span = match.span()
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            if rule == "identifier.phone" and not _looks_like_phone(match.group(0)):
                continue
            taken.append(span)
            yield Finding(where, rule, HIGH, mask(match.group(0)), fix)
    for match in _COUNTED.finditer(text):
        if 0 < int(match.group(1) or match.group(2)) < k:
            yield Finding(
                where, "count.small", HIGH, match.group(0), _small_count_fix(k)
            )


def _looks_like_phone(text: str) -> bool:
    """Eight digits or more, in three groups or behind a ``+`` or area code."""
    grouped = len(re.findall(r"\d+", text)) >= 3 or text[0] in "+("
    digits = sum(c.isdigit() for c in text)
    return digits >= 8 and grouped and not _DATE.fullmatch(text)


def _context_exempt(context: frozenset[str]) -> set[str]:
    exempt = set()
    if "agent" in context:
        exempt |= {"identifier.email", "identifier.person-name", "identifier.phone"}
        exempt |= {"identifier.address"}
    if "admin-date" in context:
        exempt.add("quasi.exact-date")
    if "url" in context:
        exempt |= {"quasi.exact-date", "identifier.phone", "quasi.small-area"}
    return exempt


def mask(text: str) -> str:
    """Keep the first and last character of each word, star the rest."""

    def hide(word: re.Match) -> str:
        w = word.group(0)
        return w if len(w) <= 2 else w[0] + "*" * (len(w) - 2) + w[-1]

    return re.sub(r"\w+", hide, text[:80])


def _small_count_fix(k: int) -> str:
    return (
        f"suppress or band counts below {k} (for example '<{k}'), or merge the "
        "groups until each holds at least that many"
    )


# ------------------------------------------------------------------ metadata


def scan_metadata(record: Any, k: int, where: str = "metadata") -> list[Finding]:
    """Scan a metadata record: every string and number, with its path.

    Parameters
    ----------
    record : dict or list
        The parsed JSON-LD or JSON document.
    k : int
        Smallest count that may be published.
    where : str
        Prefix of each finding's location.
    """
    return list(_walk(record, "$", frozenset(), k, where))


def _key(name: str) -> str:
    return re.split(r"[:/#]", str(name))[-1].lower()


def _walk(node, path, context, k, where) -> Iterator[Finding]:
    if isinstance(node, dict):
        for name, value in node.items():
            key = _key(name)
            if name in _SKIP_KEYS or key in _SKIP_KEYS:
                continue
            child = _child_context(context, key)
            yield from _walk(value, f"{path}.{name}", child, k, where)
            if isinstance(value, int | float) and not isinstance(value, bool):
                yield from _number(value, key, f"{path}.{name}", node, k, where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]", context, k, where)
    elif isinstance(node, str):
        yield from _string(node, path, context, k, where)


def _child_context(context: frozenset[str], key: str) -> frozenset[str]:
    if key in _AGENT_KEYS:
        context = context | {"agent"}
    if key in _ADMIN_DATE_KEYS:
        context = context | {"admin-date"}
    if key in _PROVENANCE_KEYS or key.startswith("prov"):
        context = context | {"provenance"}
    if key in ("@id", "id", "url", "accessurl", "downloadurl", "landingpage"):
        context = context | {"url"}
    return context


def _string(text: str, path: str, context: frozenset[str], k: int, where: str):
    location = f"{where} {path}"
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        context = context | {"url"}
    yield from scan_text(text, location, k, context)
    if "provenance" in context:
        for match in _SOURCE_RECORD.finditer(text):
            yield Finding(
                location,
                "provenance.source-record-id",
                HIGH,
                mask(match.group(0)),
                "cite the source dataset as a whole (its DOI), never the "
                "individual records a release was derived from",
            )


def _number(value, key: str, path: str, parent: dict, k: int, where: str):
    location = f"{where} {path}"
    if _COUNT_KEY.search(key) and float(value).is_integer() and 0 < value < k:
        others = {
            n: v
            for n, v in parent.items()
            if _key(n) != key and isinstance(v, str | int | float)
        }
        if value == 1 and others:
            combo = ", ".join(f"{_key(n)}={v}" for n, v in others.items())
            yield Finding(
                location,
                "count.unique-combination",
                HIGH,
                mask(combo),
                "a summary row describes a single person: merge categories or "
                "suppress the row",
            )
        else:
            yield Finding(
                location, "count.small", HIGH, str(value), _small_count_fix(k)
            )
    elif _AGE_KEY.search(key) and 89 < value < 130:
        yield Finding(
            location,
            "quasi.age-over-89",
            HIGH,
            str(value),
            "report ages over 89 as '90 or older'",
        )


def read_metadata(path: str | Path) -> Any:
    """Parse a JSON-LD or JSON metadata record.

    Raises
    ------
    LeakageInputError
        If the file is missing or not JSON.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LeakageInputError(f"metadata record {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LeakageInputError(
            f"metadata record {path}: not readable as JSON ({exc}); expected a "
            "JSON-LD or JSON document"
        ) from None


# ------------------------------------------------------------------ WFDB

_WFDB_AGE = re.compile(
    r"\bage\b\W{0,3}\s*\d{1,3}|^\s*\d{1,3}\s+[MF]\b|\b\d{1,3}\s*(?:y|yrs?|years)\b",
    re.IGNORECASE,
)
_WFDB_SEX = re.compile(r"\b(?:sex|gender)\b|^\s*\d{1,3}\s+[MF]\b", re.IGNORECASE)
_WFDB_CLINICAL = re.compile(
    r"diagnos|\bdx\b|admission|admitted|discharge|infarction|medication|therap"
    r"|smoker|catheter|history|lysis|surgery|operation|hospital|\brx\b",
    re.IGNORECASE,
)
_WFDB_BASE_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
_WFDB_BASE_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def scan_wfdb_header(path: Path, name: str, k: int) -> list[Finding]:
    """Scan a WFDB ``.hea`` header: the record line and every comment.

    A published header should describe signals only. Per-patient attributes
    (age, sex, diagnoses, medication, dates) belong in the feature table,
    where the privacy evaluators judge them; in a header they travel
    unexamined.

    Parameters
    ----------
    path : Path
        The header file.
    name : str
        How the report names it (a path inside the release).
    k : int
        Smallest count that may be published.
    """
    lines = _read_lines(path)
    findings: list[Finding] = []
    by_rule: dict[str, list[int]] = {}
    record_line_seen = False
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            for rule in _comment_rules(text[1:], k):
                by_rule.setdefault(rule, []).append(number)
            continue
        if not record_line_seen:
            record_line_seen = True
            findings.extend(_record_line(text, f"{name} line {number}"))
    for rule, numbers in by_rule.items():
        severity, fix = _WFDB_COMMENT_RULES[rule]
        where = f"{name} lines {_ranges(numbers)}"
        evidence = mask(lines[numbers[0] - 1].strip())
        findings.append(Finding(where, rule, severity, evidence, fix))
    return findings


_WFDB_COMMENT_RULES = {
    "wfdb.comment-date": (
        HIGH,
        "remove dates from header comments (Safe Harbor allows the year only)",
    ),
    "wfdb.comment-demographics": (
        HIGH,
        "remove age and sex from header comments; publish them, if at all, in "
        "the feature table that the privacy evaluators check",
    ),
    "wfdb.comment-clinical": (
        HIGH,
        "remove diagnoses, medication and history from header comments",
    ),
    "wfdb.comment-identifier": (
        HIGH,
        "remove names, numbers and contact details from header comments",
    ),
    "wfdb.comment": (
        LOW,
        "review the free-text comment; remove it unless it describes the signals",
    ),
}


def _comment_rules(comment: str, k: int) -> set[str]:
    rules = set()
    if _DATE.search(comment):
        rules.add("wfdb.comment-date")
    if _WFDB_AGE.search(comment) or _WFDB_SEX.search(comment):
        rules.add("wfdb.comment-demographics")
    if _WFDB_CLINICAL.search(comment):
        rules.add("wfdb.comment-clinical")
    others = [f for f in scan_text(comment, "", k) if f.rule != "quasi.exact-date"]
    if others:
        rules.add("wfdb.comment-identifier")
    if not rules and comment.strip():
        rules.add("wfdb.comment")
    return rules


def _record_line(text: str, where: str) -> Iterator[Finding]:
    """The base time and date: fields 5 and 6 of the record line."""
    fields = text.split()
    if len(fields) > 5 and _WFDB_BASE_DATE.match(fields[5]):
        yield Finding(
            where,
            "wfdb.base-date",
            HIGH,
            mask(fields[5]),
            "drop the base date from the record line (or shift all dates and "
            "say so in the provenance)",
        )
    if len(fields) > 4 and _WFDB_BASE_TIME.match(fields[4]):
        yield Finding(
            where,
            "wfdb.base-time",
            MEDIUM,
            mask(fields[4]),
            "drop the base time unless the time of day is needed",
        )


def _ranges(numbers: list[int]) -> str:
    parts, start = [], numbers[0]
    for prev, cur in zip(numbers, numbers[1:] + [None], strict=False):
        if cur != prev + 1 if cur is not None else True:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = cur
    return ", ".join(parts)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise LeakageInputError(f"{path}: cannot be read ({exc.strerror})") from None


# ------------------------------------------------------------------ DICOM

# PS3.15 Annex E basic profile, the attributes a waveform or image object of
# a cardiac study is likely to carry: keyword -> (action code, severity).
DICOM_PROFILE = {
    "PatientName": ("Z", HIGH),
    "PatientID": ("Z", HIGH),
    "OtherPatientIDs": ("X", HIGH),
    "OtherPatientNames": ("X", HIGH),
    "PatientBirthDate": ("Z", HIGH),
    "PatientBirthTime": ("X", HIGH),
    "PatientAddress": ("X", HIGH),
    "PatientTelephoneNumbers": ("X", HIGH),
    "PatientMotherBirthName": ("X", HIGH),
    "MilitaryRank": ("X", MEDIUM),
    "AccessionNumber": ("Z", HIGH),
    "StudyID": ("Z", HIGH),
    "StudyDate": ("Z", HIGH),
    "StudyTime": ("Z", MEDIUM),
    "SeriesDate": ("D", HIGH),
    "AcquisitionDate": ("X/Z", HIGH),
    "AcquisitionDateTime": ("X/D", HIGH),
    "ContentDate": ("Z/D", HIGH),
    "InstanceCreationDate": ("X/D", MEDIUM),
    "ReferringPhysicianName": ("Z", HIGH),
    "PerformingPhysicianName": ("X", HIGH),
    "NameOfPhysiciansReadingStudy": ("X", HIGH),
    "OperatorsName": ("X/Z/D", HIGH),
    "RequestingPhysician": ("X", HIGH),
    "InstitutionName": ("X/Z/D", HIGH),
    "InstitutionAddress": ("X", HIGH),
    "InstitutionalDepartmentName": ("X", MEDIUM),
    "StationName": ("X/Z/D", MEDIUM),
    "DeviceSerialNumber": ("X/Z/D", MEDIUM),
    "PatientSex": ("Z", MEDIUM),
    "PatientAge": ("X", MEDIUM),
    "PatientSize": ("X", MEDIUM),
    "PatientWeight": ("X", MEDIUM),
    "EthnicGroup": ("X", MEDIUM),
    "SmokingStatus": ("X", MEDIUM),
    "PatientComments": ("X", HIGH),
    "AdditionalPatientHistory": ("X", HIGH),
    "StudyDescription": ("X", MEDIUM),
    "SeriesDescription": ("X", MEDIUM),
}

_ACTION_TEXT = {
    "Z": "replace with an empty value",
    "X": "remove",
    "D": "replace with a dummy value",
    "U": "replace with a new UID",
}


def scan_dicom(path: Path, name: str) -> list[Finding]:
    """Scan a DICOM file's attributes against PS3.15 Annex E.

    Raises
    ------
    LeakageInputError
        If the file is not DICOM.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise LeakageInputError(f"{name}: not a readable DICOM file ({exc})") from None
    findings = []
    for keyword, (action, severity) in DICOM_PROFILE.items():
        value = dataset.get(keyword)
        if value is None or str(value).strip() in ("", "^"):
            continue
        how = " or ".join(_ACTION_TEXT[a] for a in action.split("/"))
        findings.append(
            Finding(
                f"{name} attribute {keyword}",
                f"dicom.{keyword}",
                severity,
                mask(str(value)),
                f"PS3.15 Annex E basic profile, action {action}: {how}",
            )
        )
    findings.extend(_dicom_private(dataset, name))
    findings.extend(_dicom_deidentification(dataset, name))
    return findings


def _dicom_private(dataset, name: str) -> Iterator[Finding]:
    private = [str(e.tag) for e in dataset.iterall() if e.tag.is_private]
    if private:
        yield Finding(
            f"{name} private attributes {', '.join(private[:5])}",
            "dicom.private-attributes",
            MEDIUM,
            f"{len(private)} private attributes",
            "remove private attributes (the basic profile retains none)",
        )


def _dicom_deidentification(dataset, name: str) -> Iterator[Finding]:
    if str(dataset.get("PatientIdentityRemoved", "")).upper() != "YES":
        yield Finding(
            f"{name} attribute PatientIdentityRemoved",
            "dicom.deidentification-not-recorded",
            MEDIUM,
            str(dataset.get("PatientIdentityRemoved", "absent")),
            "set PatientIdentityRemoved (0012,0062) to YES and record the "
            "method in DeidentificationMethodCodeSequence (0012,0064), code "
            "113100 for the basic profile",
        )
    elif "DeidentificationMethodCodeSequence" not in dataset:
        yield Finding(
            f"{name} attribute DeidentificationMethodCodeSequence",
            "dicom.deidentification-not-recorded",
            MEDIUM,
            "absent",
            "record the method in DeidentificationMethodCodeSequence "
            "(0012,0064), code 113100 for the basic profile",
        )


# ------------------------------------------------------------------ tables

_IDENTIFIER_COLUMN = re.compile(
    r"^(?:(?:patient|first|last|given|family|full|sur)_?name|name|surname|mrn"
    r"|ssn|social_?security.*|e-?mail|phone|telephone|mobile|fax|address|street"
    r"|city|zip|zip_?code|postcode|postal_?code|patient_?id|record_?id"
    r"|medical_?record.*|accession.*|dob|birth_?date|date_?of_?birth"
    r"|(?:admission|admit|discharge|death|visit|procedure|ecg)_?(?:date|time)"
    r"|ip(?:_?address)?|device_?serial.*)$",
    re.IGNORECASE,
)


def scan_table(table: pd.DataFrame, name: str, k: int) -> list[Finding]:
    """Scan a table's column names and values.

    Column names that announce a direct identifier or an exact date block;
    text values are scanned like metadata; an age column may not exceed 89
    except as the top code 90; a count column of a summary table may not hold
    counts below ``k``.
    """
    findings = []
    for column in table.columns:
        where = f"{name} column {column!r}"
        if _IDENTIFIER_COLUMN.match(str(column).strip()):
            findings.append(
                Finding(
                    where,
                    "identifier.column",
                    HIGH,
                    str(column),
                    "drop the column: it names a direct identifier or an exact date",
                )
            )
        findings.extend(_column_values(table[column], where, str(column), k))
    return findings


def _column_values(values: pd.Series, where: str, column: str, k: int):
    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(present):
        if len(present) and not ((present.dt.month == 1) & (present.dt.day == 1)).all():
            yield Finding(where, "quasi.exact-date", HIGH, "dates", _YEAR_ONLY)
    elif pd.api.types.is_numeric_dtype(present) and len(present):
        yield from _numeric_column(present, where, column, k)
    elif len(present):
        yield from _text_column(present.astype(str), where, k)


_YEAR_ONLY = "give the year only (HIPAA Safe Harbor allows no finer date element)"


TOP_CODED_AGE = 90


def _numeric_column(present: pd.Series, where: str, column: str, k: int):
    key = _key(column)
    # 90 is the Safe Harbor top code ("90 or older"), as this rule's fix asks.
    if _AGE_KEY.search(key) and present.max() > TOP_CODED_AGE:
        n = int((present > TOP_CODED_AGE).sum())
        yield Finding(
            where,
            "quasi.age-over-89",
            HIGH,
            f"{n} values above 89 that are not the top code {TOP_CODED_AGE}",
            "top-code ages at 90 ('90 or older')",
        )
    if _COUNT_KEY.search(key) and pd.api.types.is_integer_dtype(present):
        small = present[(present > 0) & (present < k)]
        if len(small):
            yield Finding(
                where,
                "count.small",
                HIGH,
                f"{len(small)} counts below {k}",
                _small_count_fix(k),
            )


def _text_column(present: pd.Series, where: str, k: int):
    distinct = present.drop_duplicates().head(5000)
    by_rule: dict[str, tuple[int, str, str]] = {}
    for value in distinct:
        for finding in scan_text(value, where, k):
            n, example, fix = by_rule.get(finding.rule, (0, finding.evidence, ""))
            by_rule[finding.rule] = (n + 1, example, finding.fix)
    for rule, (n, example, fix) in by_rule.items():
        yield Finding(where, rule, HIGH, f"{n} values, e.g. {example}", fix)


def read_any_table(path: Path, name: str) -> pd.DataFrame:
    """Read a CSV or Parquet file of a release."""
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LeakageInputError(f"{name}: not a readable table ({first})") from None


# ------------------------------------------------------------------ a release

_TEXT_SUFFIXES = {".txt", ".md", ".rst", ".html", ".xml", ".ttl", ".cff", ".bib"}
_TABLE_SUFFIXES = {".csv", ".tsv", ".parquet"}
_JSON_SUFFIXES = {".json", ".jsonld"}


def scan_files(files_dir: str | Path, k: int) -> list[Finding]:
    """Scan every file of a release folder, by kind.

    WFDB headers, DICOM files, CSV/Parquet tables, JSON(-LD) documents and
    plain-text files are read; signal data and other binary files are not
    text a reader sees and are skipped.

    Raises
    ------
    LeakageInputError
        If the folder does not exist or a file of a known kind cannot be read.
    """
    root = Path(files_dir)
    if not root.is_dir():
        raise LeakageInputError(f"release files {root}: no such folder")
    findings: list[Finding] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        findings.extend(_scan_file(path, name, k))
        findings.extend(_file_name(name, k))
    log.debug("scanned %s: %d findings", root, len(findings))
    return findings


def _scan_file(path: Path, name: str, k: int) -> list[Finding]:
    suffix = path.suffix.lower()
    if suffix == ".hea":
        return scan_wfdb_header(path, name, k)
    if suffix in (".dcm", ".dicom") or _has_dicom_preamble(path):
        return scan_dicom(path, name)
    if suffix in _TABLE_SUFFIXES:
        return scan_table(read_any_table(path, name), name, k)
    if suffix in _JSON_SUFFIXES:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LeakageInputError(f"{name}: not valid JSON ({exc})") from None
        return scan_metadata(document, k, where=name)
    if suffix in _TEXT_SUFFIXES:
        lines = _read_lines(path)
        return [
            f
            for number, line in enumerate(lines, start=1)
            for f in scan_text(line, f"{name} line {number}", k)
        ]
    return []


def _file_name(name: str, k: int) -> list[Finding]:
    """A file name can carry a date or a patient's name too."""
    stem = re.sub(r"[_]", " ", name)
    return [
        Finding(f"file name {name}", f.rule, f.severity, f.evidence, f.fix)
        for f in scan_text(stem, name, k)
        if f.rule in ("quasi.exact-date", "identifier.person-name", "identifier.email")
    ]


def _has_dicom_preamble(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def scan_release(
    metadata: Any = None,
    files_dir: str | Path | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    k: int = 11,
) -> list[Finding]:
    """Scan everything a release publishes besides the privacy of its rows.

    Parameters
    ----------
    metadata : dict or list, optional
        The release's metadata record (parsed JSON-LD).
    files_dir : str or Path, optional
        The folder of files to be published.
    tables : dict of str to pandas.DataFrame, optional
        Tables already in memory (the synthetic feature table), by name.
    k : int
        Smallest count that may be published.

    Returns
    -------
    list of Finding
        High-severity findings first.
    """
    findings: list[Finding] = []
    if metadata is not None:
        findings.extend(scan_metadata(metadata, k))
    if files_dir is not None:
        findings.extend(scan_files(files_dir, k))
    for name, table in (tables or {}).items():
        findings.extend(scan_table(table, name, k))
    order = {HIGH: 0, MEDIUM: 1, LOW: 2}
    return sorted(findings, key=lambda f: order[f.severity])
