"""PyTorch timings the engine's benchmarks compare against (spawned by bench/*.ts)."""
