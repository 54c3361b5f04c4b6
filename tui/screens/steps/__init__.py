"""One form per answers section, in the wizard's order (tui.wizard_steps.PAGES); mounted when first shown."""
