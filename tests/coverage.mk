# `make coverage`: the test suite under gcov, in a build of its own.
#
# The tree is copied with `make distdir` into $(COVERAGE_DIR)/src (a copy,
# so it works whether this tree is configured in place or not), configured
# from $(COVERAGE_DIR)/build with --enable-coverage and the flags distcheck
# uses, built, and tested with `make check`. lcov then collects the counts
# (zero for every file no test reached), genhtml writes the HTML report to
# $(COVERAGE_DIR)/html/index.html, and tests/coverage-summary.py prints the
# line and branch coverage of each module and the least-covered functions.
# A failing test fails the target, after the report is written.
# Never part of `make check` or CI: it rebuilds everything at -O0 and runs
# the whole suite instrumented (doc/COVERAGE.md has the figures).
COVERAGE_DIR = $(abs_top_builddir)/coverage-build
# Functions listed after the per-module table.
COVERAGE_FUNCTIONS = 25
COVERAGE_LCOV = $(LCOV) --quiet --rc lcov_branch_coverage=1
EXTRA_DIST += tests/coverage-summary.py doc/COVERAGE.md

.PHONY: coverage coverage-clean
coverage:
	@if test -z "$(LCOV)" || test -z "$(GENHTML)" || test -z "$(PYTHON3)"; then \
		echo "coverage: needs lcov, genhtml and python3 (apt-get install lcov python3), then ./configure" >&2; \
		exit 1; \
	fi
	$(MAKE) $(AM_MAKEFLAGS) coverage-clean
	$(MKDIR_P) $(COVERAGE_DIR)/build
	$(MAKE) $(AM_MAKEFLAGS) distdir distdir=$(COVERAGE_DIR)/src \
		top_distdir=$(COVERAGE_DIR)/src
	cd $(COVERAGE_DIR)/build && ../src/configure -q \
		$(AM_DISTCHECK_CONFIGURE_FLAGS) --enable-coverage
	cd $(COVERAGE_DIR)/build && $(MAKE) $(AM_MAKEFLAGS)
	$(COVERAGE_LCOV) --capture --initial --directory $(COVERAGE_DIR)/build \
		--output-file $(COVERAGE_DIR)/base.info
	@cd $(COVERAGE_DIR)/build && { $(MAKE) $(AM_MAKEFLAGS) check; \
		echo $$? > $(COVERAGE_DIR)/check.status; }
	$(COVERAGE_LCOV) --capture --directory $(COVERAGE_DIR)/build \
		--output-file $(COVERAGE_DIR)/tests.info
	$(COVERAGE_LCOV) --add-tracefile $(COVERAGE_DIR)/base.info \
		--add-tracefile $(COVERAGE_DIR)/tests.info \
		--output-file $(COVERAGE_DIR)/all.info
	$(COVERAGE_LCOV) --extract $(COVERAGE_DIR)/all.info \
		'$(COVERAGE_DIR)/src/libztp/*' '$(COVERAGE_DIR)/src/tools/*' \
		'$(COVERAGE_DIR)/src/plugins/*' \
		--output-file $(COVERAGE_DIR)/coverage.info
	$(GENHTML) --quiet --branch-coverage --legend \
		--prefix $(COVERAGE_DIR)/src --title "$(PACKAGE_STRING)" \
		--output-directory $(COVERAGE_DIR)/html $(COVERAGE_DIR)/coverage.info
	@$(PYTHON3) $(srcdir)/tests/coverage-summary.py \
		--functions $(COVERAGE_FUNCTIONS) \
		$(COVERAGE_DIR)/src $(COVERAGE_DIR)/coverage.info
	@echo "coverage: HTML report in $(COVERAGE_DIR)/html/index.html"
	@status=`cat $(COVERAGE_DIR)/check.status`; \
	if test "$$status" != 0; then \
		echo "coverage: make check failed (status $$status); see $(COVERAGE_DIR)/build/test-suite.log" >&2; \
		exit 1; \
	fi

coverage-clean:
	-test ! -d $(COVERAGE_DIR) || { chmod -R u+w $(COVERAGE_DIR) && rm -rf $(COVERAGE_DIR); }
clean-local: coverage-clean
