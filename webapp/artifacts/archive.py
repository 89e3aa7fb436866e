"""A skops file's archive, inspected before skops reads any of it: how much it unpacks to.

skops reads each member of the zip whole into memory, and an array member once per reference to it
in the schema, before it checks a single type. A file of a few kilobytes can therefore unpack to
gigabytes (a zip bomb). The zip directory states each member's unpacked size, and Python's zipfile
never reads past it, so bounding the sum of those sizes, and refusing a schema that names a member
twice, bounds what a check, and every later load, can allocate.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .refusal import ArtifactRefused

SCHEMA = "schema.json"
# A skops file is stored or deflated; anything else is not a file skops.io.dump wrote.
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# What a file may unpack to, as a multiple of ARTIFACT_MAX_BYTES: skops's own files deflate their
# JSON vocabularies about five times; zeros deflate a thousand times.
UNPACKED_FACTOR = 4


def inspect_archive(path: Path, max_unpacked_bytes: int) -> None:
    """ArtifactRefused unless the file is a zip skops can read within `max_unpacked_bytes`."""
    if not zipfile.is_zipfile(path):
        raise ArtifactRefused(
            "it is not a skops file. Save the model with skops.io.dump; pickle and joblib files are refused "
            "because loading them can run code"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = {member.filename: member for member in archive.infolist()}
            _bounded(members.values(), max_unpacked_bytes)
            if SCHEMA not in members:
                raise ArtifactRefused("it holds no skops schema (schema.json): save the model with skops.io.dump")
            schema = json.loads(archive.read(SCHEMA))
    except ArtifactRefused:
        raise
    except (zipfile.BadZipFile, ValueError, UnicodeDecodeError, RecursionError):
        raise ArtifactRefused("its archive or its schema is damaged") from None
    try:
        references = [name for name in _file_references(schema) if name in members]
    except RecursionError:
        raise ArtifactRefused("its schema is nested too deeply to be a model") from None
    if len(references) != len(set(references)):
        raise ArtifactRefused("its schema names one of its arrays more than once, which skops would unpack each time")


def _bounded(members: Any, max_unpacked_bytes: int) -> None:
    total = 0
    for member in members:
        if member.compress_type not in READABLE_METHODS:
            raise ArtifactRefused("it is compressed with a method skops.io.dump does not use")
        total += member.file_size
    if total > max_unpacked_bytes:
        raise ArtifactRefused(
            f"it unpacks to {total:,} bytes, over the limit of {max_unpacked_bytes:,} "
            f"({UNPACKED_FACTOR} times ARTIFACT_MAX_BYTES)"
        )


def _file_references(node: Any) -> Iterator[str]:
    """Every string under a "file" key of the schema: the members its array nodes load."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "file" and isinstance(value, str):
                yield value
            else:
                yield from _file_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _file_references(value)
