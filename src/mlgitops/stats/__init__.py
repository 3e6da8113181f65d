"""Statistical tests used by the gate and the drift check."""
