#!/bin/sh
# The example flow "device bootstrap"
# (examples/flows/bootstrap.c and bootstrap.py), run in C and in Python against
# the reference server with a throwaway PKI.
exec sh "${top_srcdir:?}/examples/flows/run.sh" bootstrap
