"""Panes the wizard mounts in its steps and the troubleshooting screen reuses: the Zeek sensor and Verify."""
