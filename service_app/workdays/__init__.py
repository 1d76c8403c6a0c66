"""The working-day calendar (DESIGN.md §11): its table, the clock every deadline is counted on, its API."""
