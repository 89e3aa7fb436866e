"""PUT /models/<id>/artifact refusals: every file the service must not take gets its code, a message a person
can act on, and leaves nothing behind: no artifact row or chunk, no version pointer, no audit entry, no file.

The property that matters most is checked here too: no artifact, however hostile, runs code when it is
uploaded or loaded. The two committed fixtures would create a marker file if they ever ran, and the
tests prove they would by loading them deliberately in a subprocess.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests import artifact_files as files
from tests.api import register
from tests.apps import make_settings, shutdown
from tests.artifact_files import MARKER_ENV, assert_plain_words, error_message, held, put_file, register_sklearn
from webapp import create_app
from webapp.artifacts.checks import ArtifactRefused, load_trusted

NOT_SKOPS = "it is not a skops file"
REFUSED = [
    pytest.param(files.pickle_file, NOT_SKOPS, id="a pickle"),
    pytest.param(files.joblib_file, NOT_SKOPS, id="a joblib file"),
    pytest.param(files.random_bytes, NOT_SKOPS, id="random bytes"),
    pytest.param(lambda: b"", NOT_SKOPS, id="an empty body"),
    pytest.param(files.truncated, NOT_SKOPS, id="half a skops file"),
    pytest.param(files.zip_without_schema, "it holds no skops schema", id="a zip that is not skops"),
    pytest.param(files.untrusted_function, files.UNTRUSTED_TYPE, id="a type outside the trust list"),
    pytest.param(files.integer_classes, "its classes are 0, 1, 2", id="integer classes"),
    pytest.param(files.other_labels, "its classes are 'bad', 'good'", id="other label names"),
    pytest.param(files.crashes_on_text, "it raised an error on the probe text", id="a crash on a probe"),
]


@pytest.fixture
def app_with(app: Flask, postgres_url: str, redis_url: str, broker_url: str, tmp_path: Path) -> Iterator[Callable]:
    """Build another app on the same (already emptied) database, with some settings changed."""
    made: list[Flask] = []

    def build(**overrides: object) -> Flask:
        settings = make_settings(
            tmp_path / f"instance-{len(made)}",
            DATABASE_URL=postgres_url,
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=broker_url,
            **overrides,
        )
        made.append(create_app(settings))
        return made[-1]

    yield build
    for other in made:
        shutdown(other)


@pytest.mark.parametrize(("build", "reason"), REFUSED)
def test_a_file_that_is_not_a_servable_model_is_refused_with_422_and_leaves_nothing(app, client, build, reason):
    model_id = register_sklearn(client)
    before = held(app)
    response = put_file(client, model_id, build())
    assert response.status_code == 422, response.get_json()
    message = error_message(response)
    assert message.startswith("the model file was refused: ") and reason in message
    assert_plain_words(message)
    assert held(app) == before
    assert client.get(f"/models/{model_id}").get_json()["artifact"] is None
    assert client.get(f"/models/{model_id}/artifact").status_code == 404


def test_the_refusal_of_untrusted_types_lists_them_in_the_details(client):
    response = put_file(client, register_sklearn(client), files.untrusted_function())
    assert response.get_json()["error"]["details"] == {"untrusted_types": [files.UNTRUSTED_TYPE]}


def test_a_probe_slower_than_the_budget_is_refused_with_the_budget(app_with):
    slow = app_with(ARTIFACT_PROBE_BUDGET_MS=0.0001)
    client = slow.test_client()
    model_id = register_sklearn(client)
    before = held(slow)
    response = put_file(client, model_id, files.good())
    assert response.status_code == 422, response.get_json()
    message = error_message(response)
    assert "over the budget of 0.0001 ms (ARTIFACT_PROBE_BUDGET_MS)" in message, message
    assert_plain_words(message)
    assert held(slow) == before


@pytest.mark.parametrize("declared", [True, False], ids=["with Content-Length", "streamed without one"])
def test_a_file_over_artifact_max_bytes_is_413_with_the_limit(app_with, declared):
    small = app_with(ARTIFACT_MAX_BYTES=1024)
    client = small.test_client()
    model_id = register_sklearn(client)
    before = held(small)
    if declared:
        response = put_file(client, model_id, files.good())
    else:
        response = client.put(
            f"/models/{model_id}/artifact",
            input_stream=io.BytesIO(files.good()),
            content_type=files.FILE,
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert response.status_code == 413, response.get_json()
    message = error_message(response)
    assert "larger than the limit of 1,024 bytes (ARTIFACT_MAX_BYTES)" in message
    assert response.get_json()["error"]["details"]["limit_bytes"] == 1024
    assert_plain_words(message)
    assert held(small) == before
    # A body of exactly the limit is read and checked (then refused for what it is, not for its size).
    assert put_file(client, model_id, files.random_bytes()[:1024]).status_code == 422


def test_a_second_different_file_is_409_and_the_first_stays(app, client):
    model_id = register_sklearn(client)
    first = files.upload(client, model_id)["artifact"]
    before = held(app)
    response = put_file(client, model_id, files.other_good())
    assert response.status_code == 409, response.get_json()
    assert "register a new version" in error_message(response)
    assert_plain_words(error_message(response))
    assert held(app) == before
    assert client.get(f"/models/{model_id}").get_json()["artifact"] == first
    assert client.get(f"/models/{model_id}/artifact").data == files.good()


def test_the_same_bytes_again_answer_200_and_change_nothing(app, client):
    model_id = register_sklearn(client)
    first = files.upload(client, model_id)
    before = held(app)
    assert files.upload(client, model_id) == first
    assert held(app) == before


def test_a_textblob_version_takes_no_file_and_an_unknown_id_is_404(app, client):
    textblob = register(client, version="1.0.0")["model_id"]
    before = held(app)
    response = put_file(client, textblob, files.good())
    assert response.status_code == 409 and "takes no model file" in error_message(response)
    assert_plain_words(error_message(response))
    unknown = put_file(client, str(uuid.uuid4()), files.good())
    assert unknown.status_code == 404 and "no model with id" in error_message(unknown)
    assert held(app) == before


@pytest.mark.parametrize("fixture", [files.MALICIOUS_SKOPS, files.REDUCE_PAYLOAD], ids=lambda path: path.name)
def test_a_hostile_file_is_refused_and_its_payload_never_runs(app, client, monkeypatch, tmp_path, fixture):
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    model_id = register_sklearn(client)
    before = held(app)
    response = put_file(client, model_id, fixture.read_bytes())
    assert not marker.exists(), "uploading the file ran its payload"
    assert response.status_code == 422, response.get_json()
    assert_plain_words(error_message(response))
    if fixture.suffix == ".skops":
        assert "outside the trust list: builtins.exec" in error_message(response)
    assert held(app) == before
    with pytest.raises(ArtifactRefused):
        load_trusted(fixture)
    assert not marker.exists(), "loading the file ran its payload"


LOAD_DELIBERATELY = {
    "reduce_payload.pkl": "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())",
    "malicious.skops": "import skops.io, sys; skops.io.load(sys.argv[1], trusted=['builtins.exec'])",
}


@pytest.mark.parametrize("fixture", [files.MALICIOUS_SKOPS, files.REDUCE_PAYLOAD], ids=lambda path: path.name)
def test_the_hostile_fixtures_are_live_when_loaded_without_the_trust_list(tmp_path, fixture):
    """Without this, a fixture whose payload had rotted would make the test above pass for nothing."""
    marker = tmp_path / "payload-ran"
    code = LOAD_DELIBERATELY[fixture.name]
    env = {**os.environ, MARKER_ENV: str(marker)}
    subprocess.run([sys.executable, "-c", code, str(fixture)], env=env, cwd=tmp_path, check=True, timeout=60)
    assert marker.read_text() == "the payload ran"
