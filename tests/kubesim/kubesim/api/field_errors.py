"""Field errors as apimachinery words them: (field path, cause reason, message) for an ``Invalid`` (422)."""

REQUIRED, INVALID, DUPLICATE, FORBIDDEN, NOT_SUPPORTED = (
    "FieldValueRequired", "FieldValueInvalid", "FieldValueDuplicate", "FieldValueForbidden", "FieldValueNotSupported")


def quote(value):
    """A value the way Go's %q / %v prints it in a field error."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def required(path, detail=""):
    return (path, REQUIRED, f"Required value{': ' + detail if detail else ''}")


def invalid(path, value, detail):
    return (path, INVALID, f"Invalid value: {quote(value)}: {detail}")


def not_supported(path, value, supported):
    choices = ", ".join(quote(choice) for choice in supported)
    return (path, NOT_SUPPORTED, f"Unsupported value: {quote(value)}: supported values: {choices}")
