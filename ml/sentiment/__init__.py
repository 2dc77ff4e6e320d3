"""Sentiment analysis for Namecraft: BiGRU classifiers for English (IMDB) and Russian reviews.

Pure PyTorch + Hugging Face ``tokenizers``; never imports the bot or Telegram.
"""

from ml.sentiment.data import clean_text
from ml.sentiment.lang import route_language
from ml.sentiment.predict import SentimentClassifier, SentimentResult

__all__ = ["SentimentClassifier", "SentimentResult", "clean_text", "route_language"]
