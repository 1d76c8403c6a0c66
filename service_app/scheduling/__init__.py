"""Scheduled jobs: the run log, the per-job lock and the runner the scheduler process uses."""
