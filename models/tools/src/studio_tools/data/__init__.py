"""Data files shipped with the tools (ImageNet class names)."""
