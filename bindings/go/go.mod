module github.com/libztp/libztp/bindings/go

go 1.19
