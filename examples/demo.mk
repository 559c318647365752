# make demo: provision a simulated fleet end to end.
