"""pretrain.data: the data pipeline (sources, cleaning, dedup, language ID, quality,
contamination, corpus, tokenizer, shards, report). It knows nothing of the engine."""
