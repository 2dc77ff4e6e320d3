"""Sentiment analysis for Namecraft: BiGRU classifiers for English and Russian messages.

A short-text model (one-line messages) and a review model per language, routed by length (en)
or by a learned "post or review" classifier (ru; ``reader.py``, ``router.py``). Pure PyTorch +
Hugging Face ``tokenizers``; never imports the bot or Telegram.
"""

from ml.sentiment.data import clean_text
from ml.sentiment.lang import route_language
from ml.sentiment.predict import SentimentClassifier, SentimentResult
from ml.sentiment.reader import Reading, SentimentReader

__all__ = [
    "Reading",
    "SentimentClassifier",
    "SentimentReader",
    "SentimentResult",
    "clean_text",
    "route_language",
]
