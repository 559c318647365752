# bindings
