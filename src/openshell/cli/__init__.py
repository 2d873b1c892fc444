"""Command-line programs: `openshell-gateway` (operators) and `openshell` (users)."""
