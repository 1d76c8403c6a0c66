"""Enterprise look-up: profiles, key indicators by period, per-mu metrics, rankings, bulk import and export.

It reads other domains' tables (problems, visits) for the profile, so it sits above `org`: `org`
owns the Enterprise model and its scoping rule; nothing in `org` imports this package.
"""
