"""Training: network, heads, losses, datasets, input pipeline, train loop, devices, metrics."""
