"""Pure scheduling and policy rules: no I/O, no framework, shared by API and worker."""
