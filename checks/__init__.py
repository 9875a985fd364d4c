"""Built-in checks, one per module; installed as efadoctor.checks."""
