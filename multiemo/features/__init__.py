"""Feature extraction from raw conversations: media decoding, openSMILE audio, face crops and embeddings,
text.

Which extractors exist, and how each one is configured and run, is stated once in
:mod:`multiemo.features.registry`.
"""
