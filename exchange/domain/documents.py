"""Documents travel by claim check: the hub stores each binary once (by SHA-256) and
messages carry a reference, never the bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field


class DocumentRef(BaseModel):
    """A stored document as messages refer to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str = Field(max_length=100, examples=["application/pdf"])
    filename: str | None = Field(default=None, max_length=255)

    @property
    def path(self) -> str:
        return f"/documents/{self.sha256}"


@dataclass(frozen=True)
class Parsed:
    """What a parser returns when the document carried binaries: the canonical payload
    (holding only :class:`DocumentRef` s) and each referenced document's bytes."""

    payload: BaseModel
    documents: list[tuple[DocumentRef, bytes]] = field(default_factory=list)
