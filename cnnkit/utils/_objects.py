"""Keras 3's config entries for the small callable objects layers take (regularizers, constraints):
`{"module", "class_name", "config", "registered_name"}`, and the lookup back from an entry or a name.

Example:
    >>> from cnnkit import regularizers
    >>> serialize_object(regularizers.L2(0.5), "keras.regularizers", (regularizers.L2,))
    {'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.5}, 'registered_name': None}
"""

import inspect


def serialize_object(obj, keras_module, builtin_classes):
    """The entry Keras 3 writes for `obj` (None for None): built-in classes under Keras's module,
    your classes under theirs (None for `__main__`) with their registered name, functions by name."""
    if obj is None:
        return None
    if inspect.isfunction(obj):
        return {"module": "builtins", "class_name": "function",
                "config": getattr(obj, "_registered_name", None) or obj.__name__, "registered_name": "function"}
    cls = type(obj)
    if cls in builtin_classes:
        return {"module": keras_module, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": None}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": obj.get_config(), "registered_name": cls.__dict__.get("_registered_name") or cls.__name__}


def deserialize_object(config, by_name, kind, custom_objects=None):
    """The object an entry describes: a built-in class by name, or a class or function registered with
    `cnnkit.saving.register_keras_serializable` (or given in `custom_objects`)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get_object(config, by_name, kind)
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"Could not interpret {kind} config: {config!r}")
    from cnnkit.saving.registry import _REGISTERED

    known = {**by_name, **_REGISTERED, **(custom_objects or {})}
    if config["class_name"] == "function":
        found = known.get(config.get("config"))
        if callable(found) and not inspect.isclass(found):
            return found
        name = config.get("config")
    else:
        for key in (config.get("registered_name"), config["class_name"]):
            found = known.get(key) if isinstance(key, str) else None
            if inspect.isclass(found):
                return found.from_config(dict(config.get("config") or {}))
        name = config["class_name"]
    raise ValueError(
        f"Unknown {kind} '{name}'. Known {kind}s: {', '.join(sorted(by_name))}; register your own "
        "with cnnkit.saving.register_keras_serializable()."
    )


def get_object(identifier, by_name, kind):
    """None, a name, an entry, a class (instantiated with its defaults) or a callable (as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = deserialize_object(identifier, by_name, kind)
    elif isinstance(identifier, str):
        found = by_name.get(identifier)
    else:
        found = identifier
    if callable(found):
        return found() if inspect.isclass(found) else found
    names = ", ".join(sorted(name for name in by_name if name[0].islower()))
    raise ValueError(f"Could not interpret {kind} identifier: {identifier}. Known names: {names}.")
