"""Accounts: the phone-number User, SMS activation codes, and the services that sign people up and in."""
