module github.com/libztp/libztp/examples/go/ztp-server

go 1.19

require github.com/libztp/libztp/bindings/go v0.0.0

replace github.com/libztp/libztp/bindings/go => ../../../bindings/go
