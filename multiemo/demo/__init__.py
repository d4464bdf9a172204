"""A small synthetic corpus in MELD's raw-release layout, for the offline demo and for tests.

``plan`` draws every label and cue from a seed (pure), ``render`` turns a plan into clips (espeak-ng,
PyAV), ``generate`` writes the corpus, ``check`` measures how much each modality reveals.
"""
