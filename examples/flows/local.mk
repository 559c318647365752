# The example flows (examples/flows/README.md): four small programs in C
# against the installed header <ztp/ztp.h> and the public library, and the
# same four in Python through the binding. `make examples` builds the C
# ones; `make check` runs all eight against the reference server, so that
# they cannot rot.

flow_py = examples/flows/bootstrap.py examples/flows/rotation.py \
	examples/flows/tenants.py examples/flows/lifecycle.py
flow_tests = tests/flows/bootstrap.sh tests/flows/rotation.sh \
	tests/flows/tenants.sh tests/flows/lifecycle.sh
EXTRA_DIST += examples/flows/README.md examples/flows/run.sh \
	examples/flows/flow.py $(flow_py) $(flow_tests)

# Built like a program outside this tree: the public headers (no -I of
# libztp/), libztp.la, and OpenSSL and json-c for the helpers' own use.
flow_cppflags = -I$(top_srcdir)/include -I$(top_builddir)/include
flow_ldadd = $(TOOL_LIBS) $(OPENSSL_LIBS) $(JSONC_LIBS)
flow_common = examples/flows/flow.c examples/flows/flow.h

if ENABLE_SERVER
if ENABLE_DEVICE
flow_programs = examples/flows/bootstrap examples/flows/rotation \
	examples/flows/tenants examples/flows/lifecycle
check_PROGRAMS += $(flow_programs)
TESTS += $(flow_tests)
endif
endif

examples_flows_bootstrap_SOURCES = examples/flows/bootstrap.c $(flow_common)
examples_flows_bootstrap_CPPFLAGS = $(flow_cppflags)
examples_flows_bootstrap_LDADD = $(flow_ldadd)
examples_flows_rotation_SOURCES = examples/flows/rotation.c $(flow_common)
examples_flows_rotation_CPPFLAGS = $(flow_cppflags)
examples_flows_rotation_LDADD = $(flow_ldadd)
examples_flows_tenants_SOURCES = examples/flows/tenants.c $(flow_common)
examples_flows_tenants_CPPFLAGS = $(flow_cppflags)
examples_flows_tenants_LDADD = $(flow_ldadd)
examples_flows_lifecycle_SOURCES = examples/flows/lifecycle.c $(flow_common)
examples_flows_lifecycle_CPPFLAGS = $(flow_cppflags)
examples_flows_lifecycle_LDADD = $(flow_ldadd)

examples: $(flow_programs)
	@if [ -z '$(flow_programs)' ]; then \
		echo "make examples: the examples need the server and device" \
			"parts (configure without --disable-server/--disable-device)" >&2; \
		exit 1; \
	fi
	@if [ '$(abs_top_srcdir)' = '$(abs_top_builddir)' ]; then \
		echo "examples built; run one with: examples/flows/run.sh bootstrap"; \
	else \
		echo "examples built; run one with: top_builddir='$(abs_top_builddir)'" \
			"'$(abs_top_srcdir)/examples/flows/run.sh' bootstrap"; \
	fi

.PHONY: examples
