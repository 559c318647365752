# Sourced by the Go test wrappers: a hermetic Go environment in DIR that
# builds against the uninstalled library of $top_builddir; the build cache
# is $ZTP_GOCACHE when set (the build tree's, shared by its tests: `make
# check` sets it), else DIR/gocache.
#   ztp_go_env DIR
ztp_go_env() {
	mkdir -p "$1/pkgconfig" "$1/gopath" "${ZTP_GOCACHE:-$1/gocache}"
	# cgo asks pkg-config for "libztp"; in the build tree that is the
	# uninstalled description (build-tree include and library paths, and
	# an rpath so the test binaries find .libs/libztp.so).
	cp "$top_builddir/libztp-uninstalled.pc" "$1/pkgconfig/libztp.pc"
	PKG_CONFIG_PATH=$1/pkgconfig
	GOPATH=$1/gopath
	GOCACHE=${ZTP_GOCACHE:-$1/gocache}
	GOFLAGS=-modcacherw
	GOPROXY=off
	GOSUMDB=off
	GOTOOLCHAIN=local
	GOTELEMETRY=off
	GO111MODULE=on
	GOWORK=off
	CGO_ENABLED=1
	export PKG_CONFIG_PATH GOPATH GOCACHE GOFLAGS GOPROXY GOSUMDB \
		GOTOOLCHAIN GOTELEMETRY GO111MODULE GOWORK CGO_ENABLED
}
