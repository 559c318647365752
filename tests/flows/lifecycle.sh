#!/bin/sh
# The example flow "complete flow, from manufacture to revocation"
# (examples/flows/lifecycle.c and lifecycle.py), run in C and in Python against
# the reference server with a throwaway PKI.
exec sh "${top_srcdir:?}/examples/flows/run.sh" lifecycle
