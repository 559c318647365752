#!/bin/sh
# The example flow "multi-tenant policy and authorisation"
# (examples/flows/tenants.c and tenants.py), run in C and in Python against
# the reference server with a throwaway PKI.
exec sh "${top_srcdir:?}/examples/flows/run.sh" tenants
