"""Checks of manifests before they are deployed (efadoctor lint)."""
