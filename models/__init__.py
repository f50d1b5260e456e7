"""The papers' models, data generators and training loops: pure torch, paper notation, batched instances."""
