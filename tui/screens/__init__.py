"""The wizard's screens and dialogs; its pages are in tui.pages."""
