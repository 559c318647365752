# API documentation (optional): make doc
EXTRA_DIST += doc/Doxyfile.in doc/PERFORMANCE.md doc/PROTOCOL.md doc/SECURITY.md \
	doc/AUDIT.md doc/POSTGRESQL.md doc/HSM.md
if HAVE_DOXYGEN
doc: doc/Doxyfile
	$(DOXYGEN) doc/Doxyfile
else
doc:
	@echo "doxygen not found: install it and re-run configure" >&2; exit 1
endif
.PHONY: doc
clean-local: clean-doc
clean-doc:
	-rm -rf doc/html
.PHONY: clean-doc
EXTRA_DIST += doc/DEPLOYMENT.md
EXTRA_DIST += doc/PORTING.md
