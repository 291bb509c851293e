"""De-identification of DICOM objects by the PS3.15 Annex E basic profile.

Attributes named by the basic profile are removed (X), emptied (Z) or
replaced by a pseudonym (D); every non-standard UID is remapped (U)
consistently within one ingest; dates are shifted back per patient (the
Retain Longitudinal Temporal Information with Modified Dates option); times
are emptied; private elements, overlays and curves are dropped. Beyond the
profile, every free-text element (LT, ST, UT and descriptions or comments)
is removed, because ECG devices write their interpretation there. The
actions are returned as text naming attributes, never their values.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from engine.ingest.pseudonyms import Pseudonyms

log = logging.getLogger(__name__)

STANDARD_UID_ROOT = "1.2.840.10008."

# Attribute keyword -> basic-profile action; X remove, Z empty, D pseudonym.
BASIC_PROFILE = {
    "PatientName": "D",
    "PatientID": "D",
    "PatientBirthDate": "Z",
    "PatientSex": "Z",
    "StudyID": "Z",
    "AccessionNumber": "Z",
    "ReferringPhysicianName": "Z",
    "ContentCreatorName": "Z",
    "PatientAge": "X",
    "PatientSize": "X",
    "PatientWeight": "X",
    "EthnicGroup": "X",
    "SmokingStatus": "X",
    "PregnancyStatus": "X",
    "Occupation": "X",
    "MedicalAlerts": "X",
    "Allergies": "X",
    "PatientComments": "X",
    "AdditionalPatientHistory": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientBirthTime": "X",
    "PatientBirthName": "X",
    "PatientMotherBirthName": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "IssuerOfPatientID": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    "PatientReligiousPreference": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    "MedicalRecordLocator": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientState": "X",
    "SpecialNeeds": "X",
    "AdmissionID": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "CurrentPatientLocation": "X",
    "PatientInstitutionResidence": "X",
    "VisitComments": "X",
    "ReasonForStudy": "X",
    "ReasonForTheRequestedProcedure": "X",
    "RequestedProcedureDescription": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "RequestAttributesSequence": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedStudySequence": "X",
    "PerformingPhysicianName": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "OperatorsName": "X",
    "PhysiciansOfRecord": "X",
    "InstitutionName": "X",
    "InstitutionAddress": "X",
    "InstitutionalDepartmentName": "X",
    "StationName": "X",
    "DeviceSerialNumber": "X",
    "StudyDescription": "X",
    "SeriesDescription": "X",
    "ProtocolName": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepID": "X",
    "ScheduledProcedureStepDescription": "X",
    "ImageComments": "X",
    "DerivationDescription": "X",
    "AcquisitionComments": "X",
    "AcquisitionDeviceProcessingDescription": "X",
    "ContrastBolusAgent": "X",
    "TimezoneOffsetFromUTC": "X",
}

FREE_TEXT_VRS = {"LT", "ST", "UT"}
FREE_TEXT_WORDS = ("Description", "Comment", "Comments", "History", "Text")

DEID_METHOD = "PS3.15 E basic profile; modified dates; free text removed"
# (code value, meaning) from DICOM's DCM coding scheme (CID 7050).
DEID_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
)


class DicomDeidentifier:
    """Apply the profile to datasets of one ingest.

    Parameters
    ----------
    pseudonyms : Pseudonyms
        Shared with the rest of the ingest so that UIDs and patient pseudonyms
        stay consistent across files.
    """

    def __init__(self, pseudonyms: Pseudonyms) -> None:
        self.pseudonyms = pseudonyms

    def apply(self, ds: Dataset, patient_key: str) -> list[str]:
        """De-identify ``ds`` in place.

        Parameters
        ----------
        ds : Dataset
            A dataset read with its file meta information.
        patient_key : str
            The original patient key, for the pseudonym and date shift only.

        Returns
        -------
        list of str
            One line per kind of change, naming attributes and counts.
        """
        counts: Counter[str] = Counter()
        shift = dt.timedelta(days=self.pseudonyms.date_shift_days(patient_key))
        pseudonym = self.pseudonyms.patient_id(patient_key)
        self._clean(ds, shift, pseudonym, counts)
        self._clean_file_meta(ds)
        self._mark(ds)
        return [
            what if n == 1 else f"{what} ({n})" for what, n in sorted(counts.items())
        ]

    def _clean(
        self, ds: Dataset, shift: dt.timedelta, pseudonym: str, counts: Counter
    ) -> None:
        ds.remove_private_tags()
        for elem in list(ds):
            action = self._action(elem)
            if action == "X":
                del ds[elem.tag]
                counts[f"removed {elem.keyword or 'element'}"] += 1
            elif action == "Z":
                elem.value = None if elem.VR == "SQ" else ""
                counts[f"emptied {elem.keyword}"] += 1
            elif action == "D":
                elem.value = pseudonym
                counts[f"replaced {elem.keyword} by pseudonym"] += 1
            elif action == "U":
                elem.value = self._remap_uids(elem.value)
                counts["remapped UIDs"] += 1
            elif action == "shift":
                elem.value = _shift_dates(elem.value, elem.VR, shift)
                counts["shifted dates"] += 1
            elif elem.VR == "SQ":
                for item in elem.value:
                    self._clean(item, shift, pseudonym, counts)

    def _action(self, elem) -> str | None:
        keyword = elem.keyword
        group = elem.tag.group
        if 0x6000 <= group <= 0x60FF or 0x5000 <= group <= 0x50FF:
            return "X"  # overlays and curves may carry burned-in text
        if keyword in BASIC_PROFILE:
            return BASIC_PROFILE[keyword]
        if elem.VR in FREE_TEXT_VRS or keyword.endswith(FREE_TEXT_WORDS):
            return "X"
        if elem.VR == "PN":
            return "Z"
        if elem.VR == "TM" and elem.value not in (None, ""):
            return "Z"
        if elem.VR in ("DA", "DT") and elem.value not in (None, ""):
            return "shift"
        if elem.VR == "UI" and _has_local_uid(elem.value):
            return "U"
        return None

    def _remap_uids(self, value):
        if isinstance(value, str):
            return self._remap_uid(value)
        return [self._remap_uid(v) for v in value]

    def _remap_uid(self, uid: str) -> str:
        if not uid or uid.startswith(STANDARD_UID_ROOT):
            return uid
        return self.pseudonyms.uid(uid)

    def _clean_file_meta(self, ds: Dataset) -> None:
        old = getattr(ds, "file_meta", None)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        transfer = getattr(old, "TransferSyntaxUID", None) if old else None
        if transfer:
            meta.TransferSyntaxUID = transfer
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta

    def _mark(self, ds: Dataset) -> None:
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = DEID_METHOD
        items = []
        for value, meaning in DEID_CODES:
            code = Dataset()
            code.CodeValue = value
            code.CodingSchemeDesignator = "DCM"
            code.CodeMeaning = meaning
            items.append(code)
        ds.DeidentificationMethodCodeSequence = Sequence(items)
        ds.LongitudinalTemporalInformationModified = "MODIFIED"


def _has_local_uid(value) -> bool:
    values = [value] if isinstance(value, str) else list(value or [])
    return any(v and not v.startswith(STANDARD_UID_ROOT) for v in values)


def _shift_dates(value, vr: str, shift: dt.timedelta):
    if isinstance(value, str):
        return _shift_one(value, vr, shift)
    return [_shift_one(v, vr, shift) for v in value]


def _shift_one(value: str, vr: str, shift: dt.timedelta) -> str:
    """Shift a DA (YYYYMMDD) or the date part of a DT; drop what cannot be read."""
    text = str(value).strip()
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    shifted = (day - shift).strftime("%Y%m%d")
    # A DT keeps only its shifted date: the time of day is dropped with it.
    return shifted
