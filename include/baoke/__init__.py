"""Baoke (保客): the after-sales retention data platform of a car-dealer group."""
