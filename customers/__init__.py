"""Customers: records, phone-number normalisation and lookup, tiers, CSV import."""
