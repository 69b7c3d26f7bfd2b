"""Analysis: metrics with uncertainty, cached run grids, verdicts on the paper's claims.

Modules (each returns tables and verdict objects; none draws figures)::

    metrics       UAR / WAR / macro-F1, per-class tables, confusions (scikit-learn)
    bootstrap     speaker-grouped bootstrap intervals, paired bootstrap of two systems
    verdicts      Verdict objects and the rules that make them (bootstrap CI, Welch t over seeds)
    runs          cached training runs and grids over variants x seeds (shardable)
    ablations     Table 4.3 / 4.4 summaries over seeds
    errors        errors by cause (§5.3) on a corpus whose causes are known
    attention     where temporal attention goes (§5.1)
    dataset       dataset statistics (Tables 2.1 / 2.2) and the cue probe
    cross_corpus  train-on-A / test-on-B matrices
    study         the powered study record (``sernet study``)
"""
