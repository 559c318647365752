# make demo: provision a simulated fleet end to end.
#
#   make demo [DEVICES=N] [JOBS=N] [KEEP=1] [DEMO_HSM=1]
#
# DEMO_HSM=1 keeps the device CA's key in a SoftHSM2 token.
#
# Runs examples/demo/fleet-demo.sh against the tools and the library of
# this build tree (see the script for what it does and checks). The smoke
# test (tests/demo_smoke.sh, registered in tests/e2e.mk) runs the same
# script with a small fleet under `make check`.

EXTRA_DIST += examples/demo/fleet-demo.sh examples/demo/fleet_report.py \
	examples/demo/fetch_crl.py

demo_env = ZTP_SRCDIR='$(abs_top_srcdir)' \
	ZTP_BUILDDIR='$(abs_top_builddir)' OPENSSL='$(OPENSSL_BIN)' \
	PYTHON3='$(PYTHON3)' DEVICES='$(DEVICES)' JOBS='$(JOBS)' KEEP='$(KEEP)' \
	DEMO_HSM='$(DEMO_HSM)' SOFTHSM2_MODULE='$(SOFTHSM2_MODULE)'

demo: all
	$(AM_V_at)$(demo_env) \
		$(SHELL) '$(abs_top_srcdir)/examples/demo/fleet-demo.sh'

.PHONY: demo
