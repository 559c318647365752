# bench-device
