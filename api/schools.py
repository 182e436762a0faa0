"""School rolls over HTTP.

- ``POST /schools/{urn}/roll``: a school uploads its roll, the home postcodes of its pupils
  (multipart form field ``file``: a CSV with a ``postcode`` column and optionally ``pupils``;
  postcodes only, any other column is refused with 400). Analysts may upload for any school,
  a school token only for its own URN (another URN answers 404). The body size is limited by
  ``GEOSAFE_ACCESS_MAX_UPLOAD_BYTES`` (413). The upload is audited as an import; the answer
  is the summary (rows, postcodes, pupils, unknown postcodes), never the postcodes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, UploadFile
from pydantic import BaseModel, Field

from geosafe import rolls

from .deps import Svc, require_roles

__all__ = ["RollUploaded", "router"]

router = APIRouter(prefix="/schools", tags=["schools"])
Caller = Annotated[Any, Depends(require_roles("analyst", "school"))]


class RollUploaded(BaseModel):
    """What was stored of an uploaded roll (counts only)."""

    school_urn: str = Field(description="The school's URN")
    source: str = Field(description="Name of the uploaded file")
    file_sha256: str = Field(description="SHA-256 of the uploaded bytes")
    rows: int = Field(description="Data rows read")
    postcodes: int = Field(description="Distinct valid postcodes stored")
    pupils: int = Field(description="Pupils stored")
    unknown: int = Field(description="Rows not stored: postcode malformed, unknown or blank")
    reasons: dict[str, int] = Field(description="Rows not stored, by reason")


@router.post(
    "/{urn}/roll",
    status_code=201,
    summary="Upload a school's roll (home postcodes only)",
    response_model=RollUploaded,
)
def upload_roll(
    urn: Annotated[str, Path(pattern=r"^\d{6}$", description="School URN (6 digits)")],
    file: Annotated[UploadFile, File(description="CSV: `postcode` column, optional `pupils`")],
    principal: Caller,
    svc: Svc,
) -> RollUploaded:
    """Store the school's roll (replacing its previous one); its journey corridors are
    re-planned from it on the next request."""
    db = svc.settings.db
    summary = rolls.save_roll(
        db,
        urn,
        file.file,
        name=file.filename or "upload",
        data_dir=svc.settings.data_dir,
    )
    rolls.audit_roll(
        db, urn, summary, who=(principal.label, principal.role), endpoint=f"/schools/{urn}/roll"
    )
    data = summary.to_json()
    data.pop("path", None)  # the server's file system is not the caller's business
    return RollUploaded(**data)
