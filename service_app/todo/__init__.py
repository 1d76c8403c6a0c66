"""The caller's to-do counts (DESIGN §9): the badges of the app."""
