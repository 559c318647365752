# fuzz: libFuzzer harnesses for every parser of untrusted input.
#
# The harnesses are built with clang directly on the library sources (the
# same list libtool compiles, taken from libztp_internal_la_SOURCES), so
# they depend neither on the libtool build nor on its compiler: a gcc build
# tree can still run them when clang is installed. See fuzz/README.md.
#
#   make fuzz-build                 build fuzz/build/fuzz_<target>
#   make fuzz-smoke                 replay each corpus, fuzz each target for
#                                   FUZZ_TIME seconds; fail on any crash
#   make fuzz-smoke FUZZ_TIME=600 FUZZ_TARGETS=json   a longer single run
#
# Without a clang that links -fsanitize=fuzzer both print a message and
# succeed, so CI images without clang are not failed by it.

FUZZ_CC = clang
FUZZ_TIME = 20
FUZZ_JOBS = 1
FUZZ_PARALLEL = 1
FUZZ_BUILDDIR = fuzz/build
FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -DZTP_FUZZING
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(top_builddir)/include \
	-I$(top_srcdir)/include -I$(top_srcdir)/libztp -I$(top_srcdir)/fuzz \
	-I$(top_srcdir)/tests/unit \
	$(OPENSSL_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) $(SQLITE_CFLAGS) \
	$(LIBPQ_CFLAGS) $(P11_CFLAGS)
FUZZ_LIBS = $(OPENSSL_LIBS) $(JSONC_LIBS) $(CURL_LIBS) $(SQLITE_LIBS) \
	$(LIBPQ_LIBS) $(P11_LIBS) \
	-lpthread

# Parsers every build has (core), then the server modules'.
FUZZ_TARGETS = json pem der encoding pkcs11_uri
if ENABLE_SERVER
FUZZ_TARGETS += policy verifier verifier_config names ocsp import
endif
if ENABLE_DEVICE
FUZZ_TARGETS += device
endif

# The portable device core's parsers, linked against the core's own
# sources (ZTP_DEVCORE_SOURCES: C standard library only), not the library.
FUZZ_LITE_TARGETS = lite_json lite_http

FUZZ_HARNESSES = fuzz/fuzz.h fuzz/fuzz_cert.h \
	fuzz/fuzz_lite.h fuzz/fuzz_lite_json.c fuzz/fuzz_lite_http.c \
	fuzz/fuzz_json.c fuzz/fuzz_pem.c fuzz/fuzz_der.c fuzz/fuzz_encoding.c \
	fuzz/fuzz_policy.c fuzz/fuzz_device.c fuzz/fuzz_verifier.c \
	fuzz/fuzz_verifier_config.c fuzz/fuzz_names.c fuzz/fuzz_ocsp.c \
	fuzz/fuzz_import.c \
	fuzz/fuzz_pkcs11_uri.c

EXTRA_DIST += fuzz/README.md fuzz/smoke.sh fuzz/corpus $(FUZZ_HARNESSES)
EXTRA_DIST += fuzz/json.dict fuzz/pem.dict fuzz/device.dict fuzz/policy.dict \
	fuzz/verifier.dict fuzz/verifier_config.dict fuzz/names.dict \
	fuzz/pkcs11_uri.dict

.PHONY: fuzz-build fuzz-smoke fuzz-clean

# Objects are rebuilt when their source or any header in the tree is newer;
# everything is compiled with coverage instrumentation for libFuzzer
# (-fsanitize=fuzzer-no-link) and linked per target with the fuzzer's main.
fuzz-build:
	@if ! $(SHELL) $(top_srcdir)/fuzz/smoke.sh probe '$(FUZZ_CC)' \
		'$(FUZZ_BUILDDIR)'; then exit 0; fi; \
	$(MKDIR_P) $(FUZZ_BUILDDIR)/obj || exit 1; \
	objs=; \
	for src in $(libztp_internal_la_SOURCES); do \
	  case $$src in *.c) ;; *) continue ;; esac; \
	  obj=$(FUZZ_BUILDDIR)/obj/`echo "$$src" | sed 's|/|_|g; s|\.c$$|.o|'`; \
	  objs="$$objs $$obj"; \
	  if test -f "$$obj" && test ! "$(top_srcdir)/$$src" -nt "$$obj" && \
	     test -z "`find $(top_srcdir)/libztp $(top_srcdir)/include \
	       $(top_builddir)/config.h -name '*.h' -newer $$obj 2>/dev/null`"; \
	  then continue; fi; \
	  echo "  FUZZCC   $$src"; \
	  $(FUZZ_CC) $(FUZZ_CPPFLAGS) -DZTP_BUILDING_LIBRARY $(FUZZ_CFLAGS) \
	    $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link \
	    -c "$(top_srcdir)/$$src" -o "$$obj" || exit 1; \
	done; \
	rm -f $(FUZZ_BUILDDIR)/libztp-fuzz.a; \
	$(AR) rcs $(FUZZ_BUILDDIR)/libztp-fuzz.a $$objs || exit 1; \
	for t in $(FUZZ_TARGETS); do \
	  extra=; \
	  case $$t in \
	  verifier* | ocsp) extra=$(top_srcdir)/tests/unit/verifier_pki.c ;; \
	  esac; \
	  echo "  FUZZLD   fuzz/fuzz_$$t"; \
	  $(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) \
	    -fsanitize=fuzzer "$(top_srcdir)/fuzz/fuzz_$$t.c" $$extra \
	    $(FUZZ_BUILDDIR)/libztp-fuzz.a $(FUZZ_LIBS) \
	    -o $(FUZZ_BUILDDIR)/fuzz_$$t || exit 1; \
	done; \
	$(MKDIR_P) $(FUZZ_BUILDDIR)/lite-obj || exit 1; \
	objs=; \
	for src in $(ZTP_DEVCORE_SOURCES); do \
	  case $$src in *.c) ;; *) continue ;; esac; \
	  obj=$(FUZZ_BUILDDIR)/lite-obj/`echo "$$src" | sed 's|/|_|g; s|\.c$$|.o|'`; \
	  objs="$$objs $$obj"; \
	  echo "  FUZZCC   $$src (device core)"; \
	  $(FUZZ_CC) -I$(top_builddir)/include -I$(top_srcdir)/include \
	    -I$(top_srcdir)/libztp -DZTP_BUILDING_LIBRARY $(FUZZ_CFLAGS) \
	    $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link \
	    -c "$(top_srcdir)/$$src" -o "$$obj" || exit 1; \
	done; \
	for t in $(FUZZ_LITE_TARGETS); do \
	  echo "  FUZZLD   fuzz/fuzz_$$t"; \
	  $(FUZZ_CC) -I$(top_builddir)/include -I$(top_srcdir)/include \
	    -I$(top_srcdir)/libztp -I$(top_srcdir)/fuzz $(FUZZ_CFLAGS) \
	    $(FUZZ_SANITIZE) -fsanitize=fuzzer "$(top_srcdir)/fuzz/fuzz_$$t.c" \
	    $$objs -o $(FUZZ_BUILDDIR)/fuzz_$$t || exit 1; \
	done

fuzz-smoke: fuzz-build
	@$(SHELL) $(top_srcdir)/fuzz/smoke.sh run '$(FUZZ_CC)' \
	  '$(FUZZ_BUILDDIR)' '$(top_srcdir)/fuzz' '$(FUZZ_TIME)' \
	  '$(FUZZ_JOBS)' '$(FUZZ_PARALLEL)' $(FUZZ_TARGETS) $(FUZZ_LITE_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_BUILDDIR)

clean-local: fuzz-clean
