"""The generator of the committed demo corpus (``workflow/demo/meld_layout``), kept out of the library.

A small synthetic corpus in MELD's raw-release layout, for the offline demo and for tests. Run its
modules from the repository root (``python -m workflow.demo.generator.generate OUT_DIR``): ``plan``
draws every label and cue from a seed (pure), ``render`` turns a plan into clips (espeak-ng, PyAV),
``generate`` writes the corpus, ``check`` measures how much each modality reveals.
"""
