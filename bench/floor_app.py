"""The floor: parse JSON, run textblob-basic, answer. No routing, no logging.

`gunicorn bench.floor_app:app` — what any Flask service running this model must at least pay.
"""

from flask import Flask, jsonify, request

from webapp.inference import build_predictor

app = Flask(__name__)
predictor = build_predictor("textblob-basic")
predictor.predict("warm up")


@app.post("/predict")
def predict():
    sentiment = predictor.predict(request.get_json()["text"])
    return jsonify(
        prediction=sentiment.label,
        confidence=sentiment.confidence,
        polarity=sentiment.polarity,
        subjectivity=sentiment.subjectivity,
    )
