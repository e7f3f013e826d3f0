"""Saved models and their immutable versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base, utcnow


class SavedModel(Base):
    """A named, deployable model in a project; one of its versions is active."""

    __tablename__ = "saved_models"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active_version: Mapped[str | None] = mapped_column(String(64))
    next_version_number: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    versions: Mapped[list[SavedModelVersion]] = relationship(
        back_populates="saved_model", cascade="all, delete-orphan", order_by="SavedModelVersion.id"
    )


class SavedModelVersion(Base):
    """One trained model deployed into a saved model; its file is a copy that never changes."""

    __tablename__ = "saved_model_versions"
    __table_args__ = (UniqueConstraint("saved_model_id", "version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_model_id: Mapped[int] = mapped_column(ForeignKey("saved_models.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(String(64))
    trained_model_id: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    saved_model: Mapped[SavedModel] = relationship(back_populates="versions")
