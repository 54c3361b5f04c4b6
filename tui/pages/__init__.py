"""The wizard's pages, one module per page or group of pages, in tui.wizard_steps.PAGES's order."""
