"""The ML task settings document (api.md), validated field by field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

DATE_PARTS = Literal["year", "month", "day", "weekday", "hour", "epoch"]
OPTIONS = {  # data.md "Feature handling": the options each type takes
    "numeric": {"impute", "impute_value", "rescale"},
    "categorical": {"encoding", "max_values"},
    "date": {"parts"},
    "text": {"max_tokens", "sequence_length"},
    "image": {"height", "width", "channels"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSettings(_Strict):
    """How one column is used."""

    role: Literal["input", "reject"]
    type: Literal["numeric", "categorical", "date", "text", "image"]
    impute: Literal["mean", "median", "constant"] | None = None
    impute_value: float | None = None
    rescale: Literal["standard", "minmax", "none"] | None = None
    encoding: Literal["dummy", "index"] | None = None
    max_values: int | None = Field(None, ge=1, le=20_000)  # ids must fit the default Embedding(20001)
    parts: list[DATE_PARTS] | None = Field(None, min_length=1)
    max_tokens: int | None = Field(None, ge=10, le=2_000_000)
    sequence_length: int | None = Field(None, ge=1, le=100_000)
    height: int | None = Field(None, ge=1, le=4096)
    width: int | None = Field(None, ge=1, le=4096)
    channels: Literal[1, 3, 4] | None = None

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> FeatureSettings:
        """An option of another type (e.g. `rescale` on a text column) is refused, not ignored."""
        given = {k for k in type(self).model_fields if k not in ("role", "type") and getattr(self, k) is not None}
        wrong = sorted(given - OPTIONS[self.type])
        if wrong:
            raise ValueError(f"{', '.join(wrong)} do(es) not apply to type {self.type!r}")
        if self.impute == "constant" and self.impute_value is None:
            raise ValueError("impute 'constant' needs impute_value")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_options(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        """Options left unset are absent from the document (a design without options reads as before)."""
        return {k: v for k, v in handler(self).items() if v is not None}


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
    # keras.utils.set_random_seed before the model is built; None: drawn at random and recorded (decisions.md)
    seed: int | None = Field(1337, ge=0, le=2**32 - 1)


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
