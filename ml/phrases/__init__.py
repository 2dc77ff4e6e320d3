"""Phrases in a voice: character-level RNNs trained on a text stream (issue 13).

``data`` reads a corpus into scenes or chapters and splits them; ``model`` is the checkpoint
(the name models' ``CharRNN``, conditioned on the speaker); ``train`` runs truncated
back-propagation through time; ``ngram`` is the Kneser–Ney baseline; ``evaluate`` scores
bits per character on held-out scenes or chapters; ``sample`` writes a line or a sentence
from a start text; ``cli`` wires ``train-phrases``, ``eval-phrases`` and ``phrase``.
"""
