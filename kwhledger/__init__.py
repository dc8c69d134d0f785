"""The ``kwhledger`` command line: the edge where files, processes and the terminal live."""
