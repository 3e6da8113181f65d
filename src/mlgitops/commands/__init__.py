"""The CLI commands, grouped by the part of the loop they belong to."""
