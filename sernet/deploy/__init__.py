"""Deployment: the predictor over trained runs and exports (``predictor``), the runners it drives (``runners``:
Keras, SavedModel, LiteRT), streaming recognition (``streaming``) and model export with parity (``export``).

>>> from sernet.deploy.predictor import Predictor   # doctest: +SKIP
"""
