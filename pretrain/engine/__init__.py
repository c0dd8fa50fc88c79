"""pretrain.engine: the training engine (configs and presets, models, objectives,
optimizers, trainer, checkpoints, export, distributed). Imports run engine -> data."""
