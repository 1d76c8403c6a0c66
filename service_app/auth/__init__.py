"""Accounts, login, tokens and role checks."""
