"""The desk's net positions, derived from booked fills."""
