"""pretrain: corpora and tokenizers (:mod:`pretrain.data`) and the training engine
(:mod:`pretrain.engine`). It knows nothing of tasks, metrics or leaderboards."""
