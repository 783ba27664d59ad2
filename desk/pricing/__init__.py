"""Pricing: composite fair value from venue books and the desk's two-way price for a size."""
