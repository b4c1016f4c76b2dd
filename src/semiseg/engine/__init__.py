"""The engine: one training loop, checkpoints, logs, optimizer, runtime."""
