"""The groups of conformance vectors, one module per area of the suite's ``vectors/`` directory."""
