"""The ML task settings document (api.md), validated field by field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSettings(_Strict):
    """How one column is used."""

    role: Literal["input", "reject"]
    type: Literal["numeric", "categorical", "text", "image"]


class SplitSettings(_Strict):
    """Train/validation split."""

    train_ratio: float = Field(0.8, gt=0.0, lt=1.0)
    seed: int = 1337


class EarlyStopping(_Strict):
    """Standard-mode early stopping on the optimisation metric."""

    enabled: bool = False
    patience: int = Field(3, ge=1, le=10_000)


class TrainingSettings(_Strict):
    """Standard-mode training parameters and the session's limits."""

    mode: Literal["standard", "advanced"] = "standard"
    epochs: int = Field(10, ge=1, le=100_000)
    batch_size: int = Field(32, ge=1, le=1_000_000)
    steps_per_epoch: int | None = Field(None, ge=1)
    shuffle: bool = True
    early_stopping: EarlyStopping = EarlyStopping()
    time_limit_s: int = Field(86400, ge=1, le=60 * 86400)


class GpuSettings(_Strict):
    """Whether to train on the GPU queue, with which GPUs."""

    use_gpu: bool = True
    gpu_list: list[int] = Field(default_factory=lambda: [0])
    allow_growth: bool = True


class ImageSettings(_Strict):
    """Size images are resized to."""

    height: int = Field(64, ge=1, le=4096)
    width: int = Field(64, ge=1, le=4096)
    channels: Literal[1, 3, 4] = 3


class TextSettings(_Strict):
    """Tokenisation of text features."""

    max_tokens: int = Field(20000, ge=10, le=2_000_000)
    sequence_length: int = Field(128, ge=1, le=100_000)


class CodeSettings(_Strict):
    """The code cells."""

    architecture: str = Field("", max_length=1_000_000)
    training: str = Field("", max_length=1_000_000)
    custom_score: str = Field("", max_length=1_000_000)


class MLTaskSettings(_Strict):
    """The whole design of an ML task."""

    features: dict[str, FeatureSettings]
    split: SplitSettings = SplitSettings()
    metric: str
    training: TrainingSettings = TrainingSettings()
    gpu: GpuSettings = GpuSettings()
    image: ImageSettings = ImageSettings()
    text: TextSettings = TextSettings()
    code: CodeSettings
