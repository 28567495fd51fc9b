"""NASLib runners for the spiking NB201 space (they need NASLib).

NASLib's own runners pick search spaces, datasets and dataset_apis from hard-coded if/elif chains,
so the spiking space has its own, built from NASLib's parts (config loader, optimizers, ``Trainer``,
``ZeroCostPredictorEvaluator``)::

    python -m naslib_snn.runners.nas --config-file configs/sahd_rs.yaml [KEY VALUE ...]
    python -m naslib_snn.runners.zc  --config-file configs/zc_correlation.yaml [KEY VALUE ...]

Both read NASLib's YAML layout plus two sections of ours, ``spiking`` (the search space and its
networks) and ``oracle`` (what answers queries; :mod:`naslib_snn.oracles`), and take ``KEY VALUE``
overrides at any depth (``search.epochs 20``, ``oracle.kind tabular``).
"""
