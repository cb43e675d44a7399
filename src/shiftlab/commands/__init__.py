"""One module per `shiftlab` verb (each called by exactly one workflow rule)."""
