"""Example adapters for services whose API differs from the contract's routes. Copy one to start."""
