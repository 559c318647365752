#!/bin/sh
# The example flow "platform registration and credential rotation"
# (examples/flows/rotation.c and rotation.py), run in C and in Python against
# the reference server with a throwaway PKI.
exec sh "${top_srcdir:?}/examples/flows/run.sh" rotation
