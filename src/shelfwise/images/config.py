"""How product images are found, fetched, checked and encoded: one frozen config, `training.images`."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ImageConfig(BaseModel):
    """Where images come from, the limits on reading them, and how the encoder batches and threads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=True,
        description="Encode product images at training time when any product has one and the `images` "
        "extra is installed (pip install 'shelfwise[images]'); false: never.",
    )
    root: Path | None = Field(
        default=None,
        description="The folder that image paths which are not absolute files are read from (the folder "
        "of the imported catalog, say): `/img/1.jpg` and `img/1.jpg` are both ROOT/img/1.jpg.",
    )
    batch_size: int = Field(default=16, ge=1, le=1024, description="Images per encoder call.")
    threads: int | None = Field(
        default=None,
        ge=1,
        description="ONNX Runtime threads of the image encoder; None: the process's math threads for its "
        "role (the `threads` settings: `training` when training or evaluating, `serving` when serving).",
    )
    min_side: int = Field(
        default=32, ge=1, description="An image narrower or lower than this many pixels is too small."
    )
    max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Larger files and downloads are refused unread."
    )
    download_timeout_seconds: float = Field(
        default=10.0, gt=0, description="The whole download of one image, connection included."
    )
    download_concurrency: int = Field(default=8, ge=1, le=64, description="Downloads at once.")
