"""Date and time formats the hub writes its own way (FORMAT_MODULE_PATH); everything not named here
is Django's own for the language."""
