"""The pure core: data in, data out. No file, network or terminal access, no printing."""
