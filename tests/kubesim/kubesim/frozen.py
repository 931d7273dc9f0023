"""JSON objects that are replaced, never edited, so that copies of the objects holding them can share them."""


class FrozenJSON(dict):
    """A JSON object that is never edited in place (a managedFields entry), so copies of an object share it."""

    __slots__ = ()

    def _refuse(self, *_args, **_kwargs):
        raise TypeError("a frozen JSON object is replaced, never edited")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self):
        return self

    def __deepcopy__(self, _memo):
        return self

    def __reduce__(self):
        return (type(self), (dict(self),))

    @classmethod
    def of(cls, value):
        """``value`` with every object in it frozen (it must hold no lists)."""
        if type(value) is cls or not isinstance(value, dict):
            return value
        return cls({key: cls.of(child) for key, child in value.items()})
