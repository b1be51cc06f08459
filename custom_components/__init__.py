"""Custom integrations package (needed so tests can import custom_components.gizwits_device)."""
