"""The one error an unacceptable model file gets: 422, with the reason in plain words."""

from __future__ import annotations

from typing import Any

from ..errors import ValidationFailed


class ArtifactRefused(ValidationFailed):
    """422: the file is not a model this service can serve, and why."""

    def __init__(self, reason: str, details: Any = None) -> None:
        super().__init__(f"the model file was refused: {reason}", details)
