# hardening tests (failure injection, concurrency, crash consistency)
