"""Datasets, organisations, themes and licences as CKAN dictionaries.

CKAN's harvester takes search results as complete package dictionaries, so a
package here carries everything it copies: resources, ``owner_org`` and the
organisation, groups (our themes), tags (our keywords) and extras.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import PurePosixPath
from urllib.parse import quote

from catalog.db.models import Dataset, Organization, Release, ReleaseState
from catalog.records import THEME_LABELS

log = logging.getLogger(__name__)

#: File suffixes and the format names a person (and CKAN) recognises.
FORMATS = {
    ".hea": "WFDB",
    ".dat": "WFDB",
    ".atr": "WFDB",
    ".csv": "CSV",
    ".parquet": "Parquet",
    ".dcm": "DICOM",
    ".json": "JSON",
    ".jsonld": "JSON-LD",
    ".ttl": "Turtle",
    ".toml": "TOML",
    ".zip": "ZIP",
    ".txt": "Text",
    ".md": "Markdown",
}


def ckan_time(moment: datetime | None) -> str | None:
    """A timestamp as CKAN writes it: UTC, no offset, microseconds."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def file_format(path: str, media_type: str = "") -> str:
    """The format name of a release file, from its suffix or media type."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if media_type:
        return media_type.rsplit("/", 1)[-1].upper()
    return suffix.lstrip(".").upper() or "Unknown"


def theme_name(theme: str) -> str:
    """A theme IRI or code as a CKAN group name (``.../data-theme/HEAL`` -> heal)."""
    tail = theme.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return tail.lower()


def published(dataset: Dataset) -> list[Release]:
    return [r for r in dataset.releases if r.state == ReleaseState.PUBLISHED.value]


def latest_release(dataset: Dataset) -> Release | None:
    """The newest published release, or None when the dataset has none."""
    releases = published(dataset)
    return releases[-1] if releases else None


def dataset_url(base_url: str, dataset: Dataset) -> str:
    return f"{base_url}/dataset/{dataset.slug}"


def release_url(base_url: str, dataset: Dataset, release: Release) -> str:
    return f"{base_url}/dataset/{dataset.slug}/v{release.version}"


def file_url(base_url: str, dataset: Dataset, release: Release, path: str) -> str:
    return f"{release_url(base_url, dataset, release)}/files/{quote(path)}"


def metadata_modified(dataset: Dataset) -> datetime:
    """The latest change to the dataset or any of its visible releases."""
    moments = [naive_utc(dataset.modified_at)]
    for release in dataset.releases:
        if release.state in (ReleaseState.PUBLISHED, ReleaseState.WITHDRAWN):
            moments.append(naive_utc(release.modified_at))
    return max(moments)


def licence_title(license_id: str) -> tuple[str, str | None]:
    """The name and URL of an SPDX licence id, or the id itself if unknown."""
    from metadata.licences import spdx_licences

    licence = spdx_licences().get(license_id)
    if licence is None:
        return license_id, None
    return licence.name, str(licence.uri)


def license_dict(license_id: str) -> dict:
    """A licence as ``license_list`` returns it."""
    from metadata.licences import spdx_licences

    licence = spdx_licences().get(license_id)
    title, url = licence_title(license_id)
    is_open = _is_open(license_id)
    return {
        "id": license_id,
        "title": title,
        "url": url or "",
        "status": "active",
        "maintainer": "",
        "family": "",
        "domain_content": True,
        "domain_data": True,
        "domain_software": bool(licence and licence.osi_approved),
        "od_conformance": "approved" if is_open else "not reviewed",
        "osd_conformance": (
            "approved"
            if licence is not None and licence.osi_approved
            else "not reviewed"
        ),
        "is_okd_compliant": is_open,
        "is_osi_compliant": bool(licence and licence.osi_approved),
        "is_generic": False,
    }


_OPEN_DATA = {
    "CC-BY-4.0",
    "CC0-1.0",
    "CC-BY-SA-4.0",
    "ODbL-1.0",
    "ODC-By-1.0",
    "PDDL-1.0",
    "CC-BY-3.0",
    "CC-BY-SA-3.0",
}


def _is_open(license_id: str) -> bool:
    return license_id in _OPEN_DATA


def organization_dict(org: Organization, package_count: int | None = None) -> dict:
    """An organisation as ``organization_show`` returns it."""
    out = {
        "id": org.id,
        "name": org.slug,
        "title": org.name,
        "display_name": org.name,
        "description": org.description or "",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(org.created_at),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "type": "organization",
        "extras": _org_extras(org),
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def _org_extras(org: Organization) -> list[dict]:
    pairs = [("homepage", org.homepage), ("email", org.email), ("ror", org.ror)]
    return [{"key": k, "value": v} for k, v in pairs if v]


def group_dict(name: str, theme: str, package_count: int | None = None) -> dict:
    """A theme as a CKAN group."""
    out = {
        "id": name,
        "name": name,
        "title": theme_label(theme),
        "display_name": theme_label(theme),
        "description": f"Datasets under the theme {theme}.",
        "image_url": "",
        "image_display_url": "",
        "is_organization": False,
        "approval_status": "approved",
        "state": "active",
        "type": "group",
        "extras": [{"key": "uri", "value": theme}] if "://" in theme else [],
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def theme_label(theme: str) -> str:
    """A theme's label for people (``HEAL`` -> Health), from the EU themes' labels."""
    name = theme_name(theme)
    return THEME_LABELS.get(name.upper(), name.replace("-", " ").capitalize())


def package_dict(dataset: Dataset, base_url: str) -> dict:
    """The complete CKAN package dictionary of a dataset's newest release.

    Parameters
    ----------
    dataset : Dataset
        With its organisation, releases and their files loaded.
    base_url : str
        The service's public address; every URL in the dictionary starts with it.
    """
    release = latest_release(dataset)
    title, url = licence_title(dataset.license_id)
    meta = release.metadata_ if release else {}
    creators = meta.get("creators") or []
    first = creators[0] if creators else {}
    return {
        "id": dataset.id,
        "name": dataset.slug,
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": dataset_url(base_url, dataset),
        "version": f"v{release.version}" if release else None,
        "license_id": dataset.license_id,
        "license_title": title,
        "license_url": url,
        "isopen": _is_open(dataset.license_id),
        "author": first.get("name"),
        "author_email": None,
        "maintainer": dataset.organization.name,
        "maintainer_email": dataset.organization.email,
        "metadata_created": ckan_time(dataset.created_at),
        "metadata_modified": ckan_time(metadata_modified(dataset)),
        "owner_org": dataset.organization_id,
        "organization": organization_dict(dataset.organization),
        "groups": [group_dict(theme_name(t), t) for t in dataset.themes],
        "tags": [_tag(k) for k in dataset.keywords],
        "num_tags": len(dataset.keywords),
        "resources": _resources(dataset, release, base_url),
        "num_resources": len(public_files(release)) if release else 0,
        "extras": _extras(dataset, release, base_url),
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _tag(keyword: str) -> dict:
    return {
        "name": keyword,
        "display_name": keyword,
        "state": "active",
        "vocabulary_id": None,
    }


def _resources(dataset: Dataset, release: Release | None, base_url: str) -> list:
    if release is None:
        return []
    created = ckan_time(release.published_at or release.created_at)
    return [
        {
            "id": f.id,
            "package_id": dataset.id,
            "name": f.path,
            "description": _resource_description(f),
            "url": file_url(base_url, dataset, release, f.path),
            "format": file_format(f.path, f.media_type),
            "mimetype": f.media_type,
            "size": f.size_bytes,
            "hash": f"sha256:{f.sha256}",
            "state": "active",
            "position": i,
            "created": created,
            "last_modified": created,
            "url_type": None,
        }
        for i, f in enumerate(public_files(release))
    ]


def public_files(release: Release) -> list:
    """Files anyone may list; restricted files never leave the owner's pages."""
    return [f for f in release.files if not f.restricted]


def _resource_description(f) -> str:
    role = f.role.replace("_", " ")
    return f"{role.capitalize()} file of the release, open download."


def _extras(dataset: Dataset, release: Release | None, base_url: str) -> list:
    pairs = [
        ("uri", dataset_url(base_url, dataset)),
        ("access_rights", dataset.access_rights),
        ("kind", dataset.kind),
    ]
    if release is not None:
        pairs += [
            ("identifier", release.identifier),
            ("version_uri", release_url(base_url, dataset, release)),
            ("issued", ckan_time(release.published_at)),
            ("restricted_files", str(len(release.files) - len(public_files(release)))),
        ]
    pairs += [(f"theme_{i}", t) for i, t in enumerate(dataset.themes)]
    return [{"key": k, "value": v} for k, v in pairs if v]
