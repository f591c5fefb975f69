"""Operating eSO: the operator CLI, table lifecycle and demo data."""
